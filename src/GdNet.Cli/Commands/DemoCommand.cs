using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GdNet.Cli.Conversation;
using GdNet.Peers;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet demo</c>: a server and a few bot clients in this process, over real WebSocket on 127.0.0.1. The bots chat
/// (a <c>remotesync</c> RPC relayed by the server), then each plays conversation v1 against the server, exactly as a
/// Godot 3 client does; a summary table follows. Exit code 0 when every bot passed.
/// </summary>
internal static class DemoCommand
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var bots = new Option<int>("--bots") { Description = "How many bot clients (1–50).", DefaultValueFactory = _ => 3 };
        var transport = new Option<string>("--transport") { Description = "ws (default), enet or local (in-process, no sockets).", DefaultValueFactory = _ => "ws" };
        transport.AcceptOnlyFromAmong(Transports.AllNames);
        var json = CliOutput.JsonOption("command (\"demo\"), transport, bots (bot, id, chatLines, stepsPassed, result ok|fail|unfinished, detail, doneMs), serverClientsOk, serverClientsFailed, packetsIn, packetsOut, relayed, ok.");
        var command = new Command("demo", "Run a server and bot clients in-process: a short chat, then conversation v1 (the Godot interop script), and a summary.")
        {
            bots, transport, json,
        };
        command.SetAction((result, ct) => RunAsync(result, result.GetValue(bots), Transports.Parse(result.GetValue(transport)!), result.GetValue(json), ct));
        return command;
    }

    private sealed class Bot(int index, NetworkedMultiplayerPeer peer)
    {
        public int Index { get; } = index;

        public ConversationPeer Conversation { get; } = ConversationPeer.Client(peer);

        public Chat Chat { get; } = new();

        public TimeSpan? Finished { get; set; }
    }

    private static async Task<int> RunAsync(ParseResult result, int botCount, TransportKind kind, bool json, CancellationToken ct)
    {
        if (botCount is < 1 or > 50)
        {
            return CliOutput.Fail(result, "--bots must be between 1 and 50");
        }

        var console = CliOutput.CreateConsole(json ? TextWriter.Null : CliOutput.Out(result));
        await using var network = await Transports.StartInProcessAsync(kind).ConfigureAwait(false);
        var server = ConversationPeer.Server(network.Server.Peer, id => Transports.Kick(network.Server.Peer, id, "quit"));
        var serverChat = new Chat();
        server.Main.AddChild(serverChat);
        console.MarkupLine($"server listening on [bold]{Markup.Escape(network.Server.Url)}[/]");

        var clock = Stopwatch.StartNew();
        var bots = new List<Bot>();
        for (var i = 0; i < botCount; i++)
        {
            var bot = new Bot(i + 1, network.NewClient());
            bot.Conversation.Main.AddChild(bot.Chat);
            bot.Conversation.Lobby.HoldAfterWelcome = true;
            bots.Add(bot);
        }

        void Frame()
        {
            network.Pump();
            server.Poll();
            foreach (var b in bots)
            {
                b.Conversation.Poll();
                if (b.Finished is null && b.Conversation.Lobby.Succeeded is not null)
                {
                    b.Finished = clock.Elapsed;
                }
            }
        }

        async Task<bool> RunUntil(Func<bool> done, string what)
        {
            while (!done())
            {
                if (clock.Elapsed > Limit || ct.IsCancellationRequested)
                {
                    console.MarkupLine($"[red]timed out while {Markup.Escape(what)}[/]");
                    return false;
                }

                Frame();
                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            return true;
        }

        var ok = await RunUntil(() => bots.All(b => b.Conversation.Lobby.Welcomed), "connecting the bots").ConfigureAwait(false);
        if (ok)
        {
            console.MarkupLine($"{botCount} bots connected and welcomed: {string.Join(", ", bots.Select(b => b.Conversation.Lobby.MyId))}");
            foreach (var b in bots)
            {
                b.Chat.Rpc(nameof(Chat.Say), string.Create(CultureInfo.InvariantCulture, $"hello from bot {b.Index}"));
            }

            ok = await RunUntil(() => bots.All(b => b.Chat.Lines.Count == botCount) && serverChat.Lines.Count == botCount, "chatting").ConfigureAwait(false);
            if (ok)
            {
                console.MarkupLine($"chat: every bot saw all {botCount} lines (the server relayed {botCount * (botCount - 1)})");
                foreach (var b in bots)
                {
                    b.Conversation.Lobby.Begin();
                }

                ok = await RunUntil(() => bots.All(b => b.Conversation.Lobby.Succeeded is not null), "playing conversation v1").ConfigureAwait(false);
            }
        }

        var table = new Table().Border(TableBorder.Rounded).Title("gdnet demo")
            .AddColumn("bot").AddColumn("id").AddColumn(new TableColumn("chat lines").RightAligned())
            .AddColumn("conversation v1 steps passed").AddColumn("result").AddColumn(new TableColumn("done at").RightAligned());
        foreach (var b in bots)
        {
            var lobby = b.Conversation.Lobby;
            var verdict = lobby.Succeeded switch
            {
                true => "[green]ok[/]",
                false => "[red]fail " + Markup.Escape(lobby.FailureReason ?? "") + "[/]",
                null => "[yellow]unfinished (" + Markup.Escape(lobby.Step) + ")[/]",
            };
            table.AddRow(
                b.Index.ToString(CultureInfo.InvariantCulture),
                lobby.MyId.ToString(CultureInfo.InvariantCulture),
                b.Chat.Lines.Count.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(" ", lobby.Passed)),
                verdict,
                b.Finished is { } t ? t.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms" : "-");
        }

        console.Write(table);
        var traffic = network.Server.Sample();
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"server ({kind.ToString().ToLowerInvariant()}): {server.Lobby.ClientsOk} clients ok, {server.Lobby.ClientsFailed} failed; {traffic.PacketsIn} packets in, {traffic.PacketsOut} out, {traffic.Relayed} relayed"));
        var allOk = ok && bots.All(b => b.Conversation.Lobby.Succeeded == true) && server.Lobby.ClientsOk == botCount;
        if (json)
        {
            CliOutput.WriteJson(result, new DemoReport("demo", kind.ToString().ToLowerInvariant(), [.. bots.Select(Report)], server.Lobby.ClientsOk,
                server.Lobby.ClientsFailed, traffic.PacketsIn, traffic.PacketsOut, traffic.Relayed, allOk), ReportJson.Default.DemoReport);
        }

        console.MarkupLine(allOk ? "[green]demo passed[/]" : "[red]demo failed[/]");
        return allOk ? 0 : 1;
    }

    private static DemoBotReport Report(Bot b)
    {
        var lobby = b.Conversation.Lobby;
        var (verdict, detail) = lobby.Succeeded switch
        {
            true => ("ok", (string?)null),
            false => ("fail", lobby.FailureReason ?? ""),
            null => ("unfinished", lobby.Step),
        };
        return new DemoBotReport(b.Index, lobby.MyId, b.Chat.Lines.Count, [.. lobby.Passed], verdict, detail, b.Finished?.TotalMilliseconds);
    }
}
