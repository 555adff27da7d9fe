using System.Text.Json;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary><c>gdnet serve --log-level/--log-format</c>: structured logs on stderr, with event ids, a line per connection.</summary>
[Trait("Category", "Interop")]
public sealed class ServeLogTests
{
    [Fact]
    public async Task Json_logs_carry_a_line_with_its_event_id_per_connection_joined_and_left()
    {
        var (serve, port) = await StartAsync(1, "--lobby", "conversation-v1", "--log-level", "information", "--log-format", "json");
        await using var _ = serve;
        await using (var godot = Godot("ws-client", $"--port={port}"))
        {
            Assert.True(await godot.WaitForExitAsync(Wait) == 0 && godot.DoneLine == "DONE ok", Describe(serve, godot));
        }

        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 1, Wait), serve.Describe());
        Assert.Equal(0, await serve.TerminateAsync(Wait)); // stderr is complete once it has exited

        var entries = serve.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var joined = Assert.Single(entries, e => e.GetProperty("EventId").GetInt32() == 5001);
        Assert.Equal("Information", joined.GetProperty("LogLevel").GetString());
        Assert.Equal("ws", joined.GetProperty("State").GetProperty("Transport").GetString());
        var id = joined.GetProperty("State").GetProperty("PeerId").GetInt32();
        var left = Assert.Single(entries, e => e.GetProperty("EventId").GetInt32() == 5002);
        Assert.Equal(id, left.GetProperty("State").GetProperty("PeerId").GetInt32());
        Assert.Contains(entries, e => e.GetProperty("EventId").GetInt32() == 2005 && e.GetProperty("Message").GetString()!.Contains("quit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task By_default_only_warnings_and_errors_are_logged()
    {
        var (serve, port) = await StartAsync(1, "--lobby", "conversation-v1");
        await using var _ = serve;
        await using (var godot = Godot("ws-client", $"--port={port}"))
        {
            Assert.True(await godot.WaitForExitAsync(Wait) == 0 && godot.DoneLine == "DONE ok", Describe(serve, godot));
        }

        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 1, Wait), serve.Describe());
        Assert.Equal(0, await serve.TerminateAsync(Wait));
        Assert.DoesNotContain("joined room", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", serve.Stderr, StringComparison.Ordinal);
    }
}
