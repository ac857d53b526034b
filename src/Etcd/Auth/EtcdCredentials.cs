namespace Etcd;

/// <summary>
/// A user name and password the client authenticates with (etcd's Authenticate call); the token it gets is sent with
/// every call and stream and renewed when etcd rejects it. Nothing printable (<see cref="ToString"/>, exception
/// messages) ever contains the password.
/// </summary>
public sealed class EtcdCredentials
{
    /// <summary>Creates credentials; <paramref name="username"/> must not be empty, <paramref name="password"/> must not be null (it may be empty).</summary>
    public EtcdCredentials(string username, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        // Not ArgumentNullException.ThrowIfNull: its message names only the parameter, but keep it explicit anyway.
        if (password is null) throw new ArgumentNullException(nameof(password), "A password is required (it may be empty, never null).");
        Username = username;
        Password = password;
    }

    /// <summary>The etcd user name.</summary>
    public string Username { get; }

    /// <summary>The password; internal so that it cannot end up in a serialized or logged options object by accident.</summary>
    internal string Password { get; }

    /// <summary>The user name with the password masked, e.g. <c>EtcdCredentials(root, ***)</c>.</summary>
    public override string ToString() => $"EtcdCredentials({Username}, ***)";
}
