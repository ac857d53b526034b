using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Etcd.Tests.Infrastructure;

/// <summary>An ILoggerFactory that keeps every formatted log line (with its exception text) for assertions.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Text)> Entries { get; } = new();

    /// <summary>Every entry as one string, for "never contains" checks.</summary>
    public string AllText => string.Join('\n', Entries.Select(e => $"{e.Level} {e.Category} {e.Text}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " | " + exception)));
    }
}
