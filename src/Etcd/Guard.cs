namespace Etcd;

/// <summary>Argument checks shared by every public entry point, so bad input fails before anything is sent.</summary>
internal static class Guard
{
    public static void NotNull(EtcdBytes value, string paramName)
    {
        if (value.IsNull) throw new ArgumentNullException(paramName);
    }

    public static void Key(EtcdBytes key, string paramName)
    {
        if (key.IsNull) throw new ArgumentNullException(paramName);
        if (key.IsEmpty) throw new ArgumentException("An etcd key must not be empty.", paramName);
    }

    public static void NonNegative(long value, string paramName, string what)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(paramName, value, $"{what} must not be negative.");
    }

    public static void Defined<TEnum>(TEnum value, string paramName) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(paramName, value, $"Unknown {typeof(TEnum).Name} value.");
    }
}
