namespace GdNet.Fuzz;

/// <summary>
/// One fuzz target: <see cref="Run"/> decodes arbitrary bytes. Returning (whatever the bytes) is success, including every
/// documented "malformed input" outcome (a false Try*, a rejection event, a refusal); any exception that escapes is a
/// crash. A target must be deterministic and keep no state between inputs that grows or changes the outcome.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>The name given on the command line (<c>fuzz/run.sh NAME</c>) and the corpus folder's name.</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>--list</c> and the README.</summary>
    public abstract string Description { get; }

    /// <summary>Decodes one input; throws <see cref="FuzzCheckException"/> when an invariant does not hold.</summary>
    public abstract void Run(ReadOnlySpan<byte> input);
}

/// <summary>An invariant the harness checks did not hold: a crash like any other escaping exception.</summary>
internal sealed class FuzzCheckException : Exception
{
    public FuzzCheckException()
    {
    }

    public FuzzCheckException(string message)
        : base(message)
    {
    }

    public FuzzCheckException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzCheckException(what);
        }
    }
}

/// <summary>Every target, by name. To add one: write a <see cref="FuzzTarget"/> and list it here (see fuzz/README.md).</summary>
internal static class Targets
{
    public static readonly FuzzTarget[] All =
    [
        new VariantTarget(allowObjects: false),
        new VariantTarget(allowObjects: true),
        new TextTarget(),
        new MultiplayerReceiveTarget(),
        new GdMpTarget(),
        new EnetTarget(),
        new AdmissionTarget(),
    ];

    public static FuzzTarget? Find(string name) => Array.Find(All, t => string.Equals(t.Name, name, StringComparison.Ordinal));
}
