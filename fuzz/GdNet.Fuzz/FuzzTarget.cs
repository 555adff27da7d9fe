namespace GdNet.Fuzz;

/// <summary>
/// One fuzz target: <see cref="Run"/> decodes arbitrary bytes. Returning (whatever the bytes) is success, including every
/// documented "malformed input" outcome (a false Try*, a rejection event, a refusal); any exception that escapes is a
/// crash. A target must be deterministic and keep no state between inputs that grows or changes the outcome.
/// </summary>
internal abstract class FuzzTarget
{
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

/// <summary>A target's name (on the command line, <c>fuzz/run.sh NAME</c>, and the corpus folder's), its one-line
/// description, and how to make it. Making it runs GdNet code, so it happens only inside the fuzzing loop: under
/// afl-fuzz the instrumented assemblies must not run before SharpFuzz has mapped the coverage memory.</summary>
internal sealed record TargetInfo(string Name, string Description, Func<FuzzTarget> Create);

/// <summary>Every target, by name. To add one: write a <see cref="FuzzTarget"/> and list it here (see fuzz/README.md).</summary>
internal static class Targets
{
    public static readonly TargetInfo[] All =
    [
        new("variant", "binary Variant decoder, objects off (VariantCodec.TryRead, PacketPeer.GetVar), re-encode round trip", () => new VariantTarget(allowObjects: false)),
        new("variant-objects", "binary Variant decoder with full objects on (VariantCodec.TryRead, PacketPeer.GetVar(true)), re-encode round trip", () => new VariantTarget(allowObjects: true)),
        new("str2var", "Variant text parser (VariantText.TryParse = str2var), var2str round trip, binary encoding of the parsed value", () => new TextTarget()),
        new("mp-receive", "MultiplayerAPI receive path: packets from connected peers to a server with RPCs/rsets of every mode, then Poll()", () => new MultiplayerReceiveTarget()),
        new("gdmp", "WebSocket gd_mp_api header (GdMpFrame) + RelayRouter.Route with relay and hosted-logic rooms", () => new GdMpTarget()),
        new("enet", "ENet datagram inspector (protocol header, command list, CONNECT data, oversized fragments) + Godot ENet framing helpers", () => new EnetTarget()),
        new("admission", "HTTP admission: request target -> room + ?token=, Bearer header, allow list, JwtAdmission, RelayRouter.AdmitAsync", () => new AdmissionTarget()),
    ];

    public static TargetInfo? Find(string name) => Array.Find(All, t => string.Equals(t.Name, name, StringComparison.Ordinal));
}
