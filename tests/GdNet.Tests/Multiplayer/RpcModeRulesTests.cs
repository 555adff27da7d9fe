using GdNet.Multiplayer;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>Spec §3.6, both tables, one row per cell (pure rules; the same cells run end to end in ModeTableTests).</summary>
public class RpcModeRulesTests
{
    private const int Me = 5;

    // Receiving side, this machine is peer 5: mode × (master here | master is the sender | master is a third peer).
    [Theory]
    [InlineData(RpcMode.Disabled, 5, 9, false)] // HereIsMaster
    [InlineData(RpcMode.Disabled, 9, 9, false)] // SenderIsMaster
    [InlineData(RpcMode.Disabled, 9, 3, false)] // ThirdIsMaster
    [InlineData(RpcMode.Remote, 5, 9, true)] // HereIsMaster
    [InlineData(RpcMode.Remote, 9, 9, true)] // SenderIsMaster
    [InlineData(RpcMode.Remote, 9, 3, true)] // ThirdIsMaster
    [InlineData(RpcMode.RemoteSync, 5, 9, true)] // HereIsMaster
    [InlineData(RpcMode.RemoteSync, 9, 9, true)] // SenderIsMaster
    [InlineData(RpcMode.RemoteSync, 9, 3, true)] // ThirdIsMaster
    [InlineData(RpcMode.Master, 5, 9, true)] // HereIsMaster
    [InlineData(RpcMode.Master, 9, 9, false)] // SenderIsMaster
    [InlineData(RpcMode.Master, 9, 3, false)] // ThirdIsMaster
    [InlineData(RpcMode.MasterSync, 5, 9, true)] // HereIsMaster
    [InlineData(RpcMode.MasterSync, 9, 9, false)] // SenderIsMaster
    [InlineData(RpcMode.MasterSync, 9, 3, false)] // ThirdIsMaster
    [InlineData(RpcMode.Puppet, 5, 9, false)] // HereIsMaster
    [InlineData(RpcMode.Puppet, 9, 9, true)] // SenderIsMaster
    [InlineData(RpcMode.Puppet, 9, 3, false)] // ThirdIsMaster
    [InlineData(RpcMode.PuppetSync, 5, 9, false)] // HereIsMaster
    [InlineData(RpcMode.PuppetSync, 9, 9, true)] // SenderIsMaster
    [InlineData(RpcMode.PuppetSync, 9, 3, false)] // ThirdIsMaster
    public void CanReceive_Cell_MatchesSpecTable(RpcMode mode, int master, int sender, bool accepted) =>
        Assert.Equal(accepted, RpcModeRules.CanReceive(mode, Me, sender, master));

    /// <summary>Spec §3.6, sending side: mode × caller is master → (local call?, network send?). One table for the
    /// unit test here and the end-to-end test in <see cref="ModeTableTests"/>.</summary>
    public static TheoryData<RpcMode, bool, bool, bool> SendTable => new()
    {
        { RpcMode.Disabled, true, false, true },
        { RpcMode.Disabled, false, false, true },
        { RpcMode.Remote, true, false, true },
        { RpcMode.Remote, false, false, true },
        { RpcMode.Master, true, true, false },
        { RpcMode.Master, false, false, true },
        { RpcMode.Puppet, true, false, true },
        { RpcMode.Puppet, false, true, true },
        { RpcMode.RemoteSync, true, true, true },
        { RpcMode.RemoteSync, false, true, true },
        { RpcMode.PuppetSync, true, true, true },
        { RpcMode.PuppetSync, false, true, true },
        { RpcMode.MasterSync, true, true, false },
        { RpcMode.MasterSync, false, true, true },
    };

    [Theory]
    [MemberData(nameof(SendTable))]
    public void ShouldCallLocal_Cell_MatchesSpecTable(RpcMode mode, bool isMaster, bool local, bool network)
    {
        var skip = false;

        var callLocal = RpcModeRules.ShouldCallLocal(mode, isMaster, ref skip);

        Assert.Equal((local, network), (callLocal, !skip));
    }

    [Fact]
    public void DeprecatedAliases_HaveGodotValues()
    {
#pragma warning disable CS0618
        Assert.Equal((3, 4), ((int)RpcMode.Slave, (int)RpcMode.Sync));
        Assert.Equal(RpcMode.Puppet, new SlaveAttribute().Mode);
        Assert.Equal(RpcMode.RemoteSync, new SyncAttribute().Mode);
#pragma warning restore CS0618
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(6, true)]
    [InlineData(7, false)]
    public void IsDefined_Value_OnlyGodotModes(int value, bool defined) =>
        Assert.Equal(defined, RpcModeRules.IsDefined((RpcMode)value));
}
