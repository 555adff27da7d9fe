using GdNet.Samples.ChatDemo;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class ChatDemoTests
{
    [Fact]
    public void Run_InProcess_EveryModeArrivesAndExitsZero()
    {
        var output = new StringWriter();

        var code = ChatDemoProgram.Run(output);

        var text = output.ToString();
        Assert.True(code == 0, text);
        Assert.EndsWith("DEMO ok" + Environment.NewLine, text, StringComparison.Ordinal);
        Assert.Contains("[bob   ] alice is typing…", text, StringComparison.Ordinal); // remote
        Assert.Contains("[alice ] alice: hi all", text, StringComparison.Ordinal); // remotesync, local
        Assert.Contains("[server] bob is ready", text, StringComparison.Ordinal); // mastersync
        Assert.Contains("[bob   ] announcement: the round starts", text, StringComparison.Ordinal); // puppetsync
        Assert.Contains("[server] rejected: ForbiddenByMode: RSET 'Position'", text, StringComparison.Ordinal); // puppet var
    }
}
