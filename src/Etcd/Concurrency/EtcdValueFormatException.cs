namespace Etcd.Concurrency;

/// <summary>
/// A key that a recipe (<see cref="EtcdCounter"/>, <see cref="EtcdSequence"/>) keeps a number in holds something
/// that is not a 64-bit decimal integer. Nothing was written.
/// </summary>
public sealed class EtcdValueFormatException : EtcdException
{
    /// <summary>Creates the exception for <paramref name="key"/> holding <paramref name="value"/>.</summary>
    public EtcdValueFormatException(EtcdBytes key, EtcdBytes value, string expected, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, $"The key {key} holds '{Shorten(value)}', which is not {expected}; nothing was written.", null, innerException)
    {
        Key = key;
        Value = value;
    }

    /// <summary>The key whose value could not be read as a number.</summary>
    public EtcdBytes Key { get; }

    /// <summary>The value found.</summary>
    public EtcdBytes Value { get; }

    private static string Shorten(EtcdBytes value)
    {
        var text = value.ToString();
        return text.Length <= 64 ? text : text[..64] + "...";
    }
}
