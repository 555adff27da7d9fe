using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet;

/// <summary>
/// Where GdNet logs when an object was given no logger of its own. Set <see cref="LoggerFactory"/> once at start-up and
/// every <see cref="Multiplayer.MultiplayerAPI"/>, peer and transport created afterwards logs through it: warnings for
/// calls that fail (an RPC with no network peer, a node outside the tree, a packet over the size limit, a malformed
/// URL…), rate-limited, and debug events for rejected packets.
/// </summary>
/// <example>A console app, with Microsoft.Extensions.Logging.Console:
/// <code>GdNetLogging.LoggerFactory = LoggerFactory.Create(b => b.AddConsole());</code></example>
public static class GdNetLogging
{
    private static ILoggerFactory _factory = NullLoggerFactory.Instance;

    /// <summary>The factory objects created from now on log through (none by default). Any thread.</summary>
    public static ILoggerFactory LoggerFactory
    {
        get => Volatile.Read(ref _factory);
        set => Volatile.Write(ref _factory, value ?? NullLoggerFactory.Instance);
    }

    /// <summary>A logger of <see cref="LoggerFactory"/> for category <typeparamref name="T"/>.</summary>
    public static ILogger CreateLogger<T>() => LoggerFactory.CreateLogger<T>();
}
