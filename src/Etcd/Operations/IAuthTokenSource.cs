namespace Etcd.Operations;

/// <summary>Supplies the auth token the invoker sends as <c>token</c> metadata with every call and stream.</summary>
internal interface IAuthTokenSource
{
    /// <summary>
    /// The token for the next call, authenticating first when there is none (concurrent callers share one attempt);
    /// null when the cluster has authentication disabled, so calls go without a token (as etcd's Go client does).
    /// </summary>
    ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Forgets <paramref name="token"/> after etcd rejected it, so the next <see cref="GetTokenAsync"/> authenticates
    /// again; a no-op when a newer token is already held. Null: a call without a token was refused (auth was enabled).
    /// </summary>
    void Invalidate(string? token);

    /// <summary>Forgets whatever token (or "auth disabled" finding) is held, for streams that cannot tell which token they sent.</summary>
    void InvalidateCurrent();
}
