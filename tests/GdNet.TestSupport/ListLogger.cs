using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GdNet.TestSupport;

/// <summary>An <see cref="ILogger"/> (and the <see cref="ILoggerFactory"/> that hands it out) that keeps every line, for
/// asserting what a component logs.</summary>
public sealed class ListLogger : ILogger, ILoggerFactory
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    /// <summary>The lines at <paramref name="level"/>.</summary>
    public IReadOnlyList<string> At(LogLevel level) => [.. Entries.Where(e => e.Level == level).Select(e => e.Message)];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception)));

    ILogger ILoggerFactory.CreateLogger(string categoryName) => this;

    void ILoggerFactory.AddProvider(ILoggerProvider provider)
    {
    }

    void IDisposable.Dispose()
    {
    }
}
