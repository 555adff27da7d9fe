using System.Globalization;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary>
/// <c>gdnet serve --bind</c> and <c>--max-clients</c> with ENet (issue 13 §5.9, issue 14): a host name is resolved (to
/// IPv4: ENet is IPv4-only) for both transports; an address of another machine and a client limit over ENet's slots are
/// refused with a reason.
/// </summary>
public sealed partial class ServeBindTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^listening on enet://127\.0\.0\.1:(\d+)$")]
    private static partial Regex EnetListening();

    [Fact]
    public async Task Bind_localhost_listens_on_127_0_0_1_with_both_transports_and_clients_connect()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "ws,enet", "--port", "0", "--bind", "localhost", "--stats-interval", "0.5");
        Assert.True(await serve.WaitForLinesContainingAsync("listening on ", 2, Wait), serve.Describe());
        Assert.Contains(serve.Lines, l => l.StartsWith("listening on ws://127.0.0.1:", StringComparison.Ordinal));
        var port = int.Parse(serve.Lines.Select(l => EnetListening().Match(l)).First(m => m.Success).Groups[1].Value, CultureInfo.InvariantCulture);

        using var client = EnetTestKit.Client(port);
        EnetTestKit.PumpUntil(() => client.Has("succeeded"), client);
        await serve.WaitForLineAsync($"peer {client.Peer.GetUniqueId()} connected", Wait);

        using var ws = new ClientWebSocket();
        using var cts = new CancellationTokenSource(Wait);
        await ws.ConnectAsync(new Uri($"ws://localhost:{port}/"), cts.Token);
        Assert.True(await serve.WaitForLinesContainingAsync(" connected (room default, ws ", 1, Wait), serve.Describe());
    }

    [Fact]
    public async Task Bind_to_an_address_of_another_machine_exits_1_saying_so()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "ws,enet", "--port", "0", "--bind", "192.0.2.123"); // TEST-NET-1

        Assert.Equal(1, await serve.WaitForExitAsync(Wait));
        Assert.Contains("192.0.2.123 is not an address of this machine", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("CantCreate", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(serve.Lines, l => l.StartsWith("listening", StringComparison.Ordinal));
    }

    [Fact]
    public async Task More_clients_than_ENet_has_slots_is_a_usage_error()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0", "--max-clients", "5000");

        Assert.Equal(2, await serve.WaitForExitAsync(Wait));
        Assert.Contains("ENet has at most 4095 peer slots", serve.Stderr, StringComparison.Ordinal);
    }
}
