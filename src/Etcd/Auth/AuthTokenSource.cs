using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// Gets and holds the client's auth token: one Authenticate call at a time, shared by every caller that needs a token
/// meanwhile. The shared attempt runs with the request deadline and no caller's token, so one caller giving up does
/// not fail the others. A failed attempt is not kept: the next caller tries again (and a wrong password fails every
/// caller the same way, once each, without a retry loop).
/// </summary>
internal sealed class AuthTokenSource : IAuthTokenSource
{
    private readonly EtcdCallInvoker _invoker;
    private readonly EtcdCredentials _credentials;
    private readonly object _lock = new();
    private string? _token;
    private bool _authDisabled;
    private Task<string?>? _pending;
    private long _authentications;

    public AuthTokenSource(EtcdCallInvoker invoker, EtcdCredentials credentials)
    {
        _invoker = invoker;
        _credentials = credentials;
    }

    /// <summary>How many Authenticate calls were started (for tests).</summary>
    public long Authentications => Interlocked.Read(ref _authentications);

    public ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<string?>? mine = null;
        Task<string?> attempt;
        lock (_lock)
        {
            if (_token is { } token) return ValueTask.FromResult<string?>(token);
            if (_authDisabled) return ValueTask.FromResult<string?>(null);
            if (_pending is null)
            {
                mine = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending = mine.Task;
            }
            attempt = _pending;
        }
        if (mine is not null) _ = AuthenticateAsync(mine);
        return new ValueTask<string?>(attempt.WaitAsync(cancellationToken));
    }

    public void Invalidate(string? token)
    {
        lock (_lock)
        {
            if (token is null) _authDisabled = false;
            else if (_token == token) _token = null;
        }
    }

    public void InvalidateCurrent()
    {
        lock (_lock)
        {
            _token = null;
            _authDisabled = false;
        }
    }

    private async Task AuthenticateAsync(TaskCompletionSource<string?> attempt)
    {
        Interlocked.Increment(ref _authentications);
        try
        {
            var request = new Pb.AuthenticateRequest { Name = _credentials.Username, Password = _credentials.Password };
            // CancellationToken.None: the attempt is shared; the request deadline bounds it, each caller's token its own wait.
            var response = await _invoker.UnaryAsync(EtcdMethods.Authenticate, request, CancellationToken.None,
                flags: CallFlags.NoAuthToken | CallFlags.Idempotent).ConfigureAwait(false);
            if (string.IsNullOrEmpty(response.Token))
                throw new EtcdException(EtcdStatusCode.Internal, $"etcd authenticated user '{_credentials.Username}' but sent no token.");
            lock (_lock)
            {
                _token = response.Token;
                _pending = null;
            }
            attempt.SetResult(response.Token);
        }
        catch (EtcdAuthAdminException error) when (error.Error == EtcdAuthAdminError.AuthNotEnabled)
        {
            // Credentials for a cluster without authentication: calls go without a token until etcd asks for one
            // ("user name is empty"), which invalidates this finding.
            lock (_lock)
            {
                _authDisabled = true;
                _pending = null;
            }
            attempt.SetResult(null);
        }
        catch (Exception error)
        {
            lock (_lock) _pending = null;
            attempt.SetException(Explain(error));
            _ = attempt.Task.Exception; // observed: every waiter may have given up already
        }
    }

    /// <summary>Names the user in the failures a caller must act on; the password is never part of any message.</summary>
    private Exception Explain(Exception error) => error switch
    {
        EtcdAuthenticationException e => new EtcdAuthenticationException(e.StatusCode,
            $"etcd refused the credentials of user '{_credentials.Username}': {e.ServerMessage}", e.ServerMessage, e),
        _ => error,
    };
}
