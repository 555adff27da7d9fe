using GdNet.TestSupport;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// <c>gdnet serve --jwt-secret-file</c> with real Godot clients: each kind of token gets its outcome, refused clients
/// never see a peer, and ENet (no credentials in Godot 3) gets in only from <c>--enet-allow</c> networks.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeAdmissionTests : IDisposable
{
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"gdnet-key-{Guid.NewGuid():N}");

    public ServeAdmissionTests() => File.WriteAllBytes(_keyFile, [.. JwtAdmissionTests.Key, (byte)'\n']);

    public void Dispose() => File.Delete(_keyFile);

    [Fact]
    public async Task Tokens_valid_missing_bad_expired_wrong_room_and_not_yet_valid()
    {
        var (serve, port) = await StartAsync(2, "--lobby", "conversation-v1", "--transport", "ws,enet", "--jwt-secret-file", _keyFile, "--enet-allow", "127.0.0.1/32");
        await using var _ = serve;
        string Url(string? token) => $"--url=ws://127.0.0.1:{port}/lobby" + (token is null ? "" : "?token=" + token);
        var cases = new (string Name, string Arg, bool Ok)[]
        {
            ("valid", Url(JwtAdmissionTests.Token(room: "lobby", sub: "godot-player")), true),
            ("missing", Url(null), false),
            ("bad signature", Url(JwtAdmissionTests.Token(key: "another-key-another-key-another-key!!"u8.ToArray(), room: "lobby")), false),
            ("expired", Url(JwtAdmissionTests.Token(notBefore: DateTime.UtcNow.AddHours(-3), expires: DateTime.UtcNow.AddHours(-2))), false),
            ("wrong room", Url(JwtAdmissionTests.Token(room: "other")), false),
            ("nbf in the future", Url(JwtAdmissionTests.Token(notBefore: DateTime.UtcNow.AddHours(1), expires: DateTime.UtcNow.AddHours(2))), false),
        };
        var godots = cases.Select(c => Godot("ws-client", c.Arg)).ToList();
        var enet = Godot("enet-client", $"--port={port}");
        try
        {
            for (var i = 0; i < cases.Length; i++)
            {
                var exit = await godots[i].WaitForExitAsync(Wait);
                var why = cases[i].Name + "\n" + Describe(serve, godots[i]);
                if (cases[i].Ok)
                {
                    Assert.True(exit == 0 && godots[i].DoneLine == "DONE ok", why);
                }
                else
                {
                    // Refused before the upgrade: Godot reports connection_failed and has seen no peer at all.
                    Assert.True(exit == 1 && godots[i].DoneLine == "DONE fail connection_failed", why);
                    Assert.Empty(PeersSeen(godots[i]));
                }
            }

            Assert.True(await enet.WaitForExitAsync(Wait) == 0 && enet.DoneLine == "DONE ok", "enet\n" + Describe(serve, enet));
            Assert.True(await serve.WaitForLinesContainingAsync("refused: Forbidden=1, Unauthorized=4", 1, Wait), serve.Describe());
            Assert.Contains(serve.Lines, l => l.Contains("room lobby, ws ", StringComparison.Ordinal) && l.EndsWith(", godot-player)", StringComparison.Ordinal));
            Assert.Contains(serve.Lines, l => l.Contains("Unauthorized: token expired", StringComparison.Ordinal));
            Assert.Contains(serve.Lines, l => l.Contains("Forbidden: token is for room other", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }

            await enet.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_tokens_on_ENet_clients_outside_enet_allow_are_refused_and_see_no_peer()
    {
        var (serve, port) = await StartAsync(1, "--transport", "enet", "--jwt-secret-file", _keyFile, "--enet-allow", "10.0.0.0/8");
        await using var _ = serve;
        await using var enet = Godot("enet-client", $"--port={port}");

        var exit = await enet.WaitForExitAsync(Wait);

        Assert.True(exit == 1 && enet.DoneLine == "DONE fail connection_failed", Describe(serve, enet));
        Assert.Empty(PeersSeen(enet));
        Assert.Contains(serve.Lines, l => l.Contains("Unauthorized: ENet clients carry no token", StringComparison.Ordinal));
    }
}
