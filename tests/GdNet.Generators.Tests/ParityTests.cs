using System.Globalization;
using System.Reflection;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Tests.Multiplayer;
using GdNet.Variants;
using Xunit;

namespace GdNet.Generators.Tests;

/// <summary>
/// The generated dispatch of GdNet.Tests' TestLobby (compiled here with the generator) against the reflection fallback
/// on the same type: the same entries, the same invoker results for every argument combination, and the same calls and
/// rejections through two real MultiplayerAPIs. (One class: the end-to-end tests swap TestLobby's table for a while.)
/// </summary>
public class ParityTests
{
    private static readonly Variant[] Samples =
    [
        Variant.Nil, true, 7, -2.7, "7", new NodePath("a/b"), new Vector2(1, 2), new VariantArray { 1, "x" },
        new byte[] { 1, 2 }, new VariantDictionary(), 0x1_0000_0005L,
    ];

    private static RpcTypeInfo Generated => RpcTypeInfo.For(typeof(TestLobby));

    private static RpcTypeInfo Reflected => RpcTypeInfo.FromReflection(typeof(TestLobby));

    [Fact]
    public void TestLobby_HasGeneratedTable()
    {
        Assert.True(Generated.IsGenerated);
        Assert.False(Reflected.IsGenerated);
    }

    [Fact]
    public void Entries_SameAsReflection()
    {
        static string Describe(RpcMember m) =>
            $"{m.WireName} {m.ClrName} {m.Mode} {m.IsProperty} {m.RequiredCount}/{m.ParameterCount} [{string.Join(",", m.ParameterTypes.Select(t => t.FullName))}] {m}";

        var generated = Generated.Methods.Concat(Generated.Properties).Select(Describe).Order(StringComparer.Ordinal).ToList();
        var reflected = Reflected.Methods.Concat(Reflected.Properties).Select(Describe).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(reflected, generated);
        Assert.Contains(generated, d => d.StartsWith("welcome Welcome Remote False 2/2", StringComparison.Ordinal));
        Assert.Contains(generated, d => d.StartsWith("Optional Optional Remote False 1/2", StringComparison.Ordinal));
        Assert.Contains(generated, d => d.StartsWith("motd Motd Puppet True", StringComparison.Ordinal));
    }

    [Fact]
    public void Invokers_EveryArgumentCombination_SameResultAndCalls()
    {
        var checkedCalls = 0;
        foreach (var g in Generated.Methods)
        {
            var r = Reflected.FindMethodByWireName(g.WireName)!;
            for (var count = g.RequiredCount; count <= g.ParameterCount; count++)
            {
                foreach (var args in Combinations(count))
                {
                    Assert.Equal(Invoke(r, args), Invoke(g, args));
                    checkedCalls++;
                }
            }
        }

        Assert.True(checkedCalls > 200, $"only {checkedCalls} combinations");
    }

    [Fact]
    public void Setters_EverySample_SameResultAndValue()
    {
        foreach (var g in Generated.Properties)
        {
            var r = Reflected.FindPropertyByWireName(g.WireName)!;
            foreach (var sample in Samples)
            {
                Assert.Equal(Set(r, sample), Set(g, sample));
            }
        }
    }

    [Fact]
    public void EndToEnd_EveryModeAndBadArguments_SameCallsAndRejections()
    {
        var generated = Scenario(reflection: false);
        var reflected = Scenario(reflection: true);

        Assert.Equal(reflected, generated);
        Assert.Contains(generated, l => l.Contains("BadArguments", StringComparison.Ordinal));
        Assert.Contains(generated, l => l.Contains("ForbiddenByMode", StringComparison.Ordinal));
        Assert.Contains(generated, l => l.StartsWith("1 ran welcome(3,x) from ", StringComparison.Ordinal));
    }

    private static IEnumerable<Variant[]> Combinations(int count)
    {
        if (count == 0)
        {
            yield return [];
            yield break;
        }

        foreach (var rest in Combinations(count - 1))
        {
            foreach (var s in Samples)
            {
                yield return [.. rest, s];
            }
        }
    }

    private static string Invoke(RpcMember member, Variant[] args)
    {
        var lobby = new TestLobby();
        string result;
        try
        {
            result = member.Invoke!(lobby, args, args.Length).ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException ex)
        {
            result = "threw " + ex.Message;
        }

        return $"{member.WireName}({string.Join(",", args.Select(a => a.ToString()))}) -> {result}; {string.Join("; ", lobby.Calls)}";
    }

    private static string Set(RpcMember member, Variant value)
    {
        var lobby = new TestLobby();
        var ok = member.Set!(lobby, value);
        var clr = typeof(TestLobby).GetProperty(member.ClrName)?.GetValue(lobby) ?? typeof(TestLobby).GetField(member.ClrName)!.GetValue(lobby);
        return $"{member.WireName} = {value} -> {ok}, {clr}";
    }

    /// <summary>Every mode called from the server and from the client, then bad calls; the transcript of both machines.</summary>
    private static List<string> Scenario(bool reflection)
    {
        if (reflection)
        {
            RpcTypeInfo.ReplaceForTests(typeof(TestLobby), RpcTypeInfo.FromReflection(typeof(TestLobby)));
        }

        try
        {
            using var session = new Session();
            Assert.Equal(!reflection, ((TestLobby)session.Server.Lobby).TypeInfo.IsGenerated);
            var log = new List<string>();
            string[] modes = ["DoRemote", "DoRemoteSync", "DoMaster", "DoMasterSync", "DoPuppet", "DoPuppetSync"];
            foreach (var machine in new[] { session.Server, session.Client })
            {
                foreach (var mode in modes)
                {
                    log.Add($"{machine.Id} {mode}: {machine.Lobby.Rpc(mode)}");
                }
            }

            var client = session.Client.Lobby;
            log.Add("Welcome: " + client.Rpc("Welcome", 3, "x"));
            log.Add("welcome: " + client.Rpc("welcome", 3, "x"));
            log.Add("Optional(3): " + client.Rpc("Optional", 3));
            log.Add("Optional(3,4): " + client.Rpc("Optional", 3, 4));
            log.Add("Echo(1): " + client.Rpc("Echo", 1));
            log.Add("Echo(seven,s): " + client.Rpc("Echo", "seven", "s"));
            log.Add("Echo(2.9,nodepath): " + client.Rpc("Echo", 2.9, new NodePath("p")));
            log.Add("Ping(1): " + client.Rpc("Ping", 1));
            log.Add("Any(vector): " + client.Rpc("Any", new Vector2(1, 1)));
            log.Add("Throws: " + client.Rpc("Throws"));
            log.Add("NotAnRpc: " + client.Rpc("NotAnRpc"));
            log.Add("Score=2.0: " + client.Rset("Score", 2.0));
            log.Add("Score=s: " + client.Rset("Score", "s"));
            log.Add("motd=5: " + client.Rset("motd", 5));
            log.Add("Position: " + client.Rset("Position", new Vector2(3, 4)));
            log.Add("Hidden: " + client.Rset("Hidden", "h"));
            session.Pump();
            session.Pump();

            foreach (var machine in session.All)
            {
                var lobby = (TestLobby)machine.Lobby;
                log.AddRange(lobby.Calls.Select(c => $"{machine.Id} ran {c}"));
                log.Add($"{machine.Id} state {lobby.Score} '{lobby.Motd}' {lobby.Position}");
                log.AddRange(machine.Rejections.Select(r =>
                    $"{machine.Id} rejected {r.Reason} {r.Member} {r.Mode} arg {r.ArgumentIndex} {r.ArgumentType} {r.ExpectedType?.Name} {r.Value}/{r.Limit} {r.Exception?.Message}"));
            }

            return log;
        }
        finally
        {
            RpcTypeInfo.ReplaceForTests(typeof(TestLobby), null);
        }
    }
}
