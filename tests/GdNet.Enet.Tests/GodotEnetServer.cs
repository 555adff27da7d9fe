using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary>Starts a real Godot <c>enet-server</c> on a free port, trying another port if that one was taken in the
/// meantime (other tests' ENet hosts bind ephemeral UDP ports concurrently).</summary>
public static class GodotEnetServer
{
    /// <summary>The running Godot peer (READY printed) and its port. Up to 3 ports are tried.</summary>
    public static async Task<(GodotPeerProcess Godot, int Port)> StartAsync(TimeSpan hardTimeout, TimeSpan wait, params string[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = GodotPeerProcess.FreePort();
            var godot = GodotPeerProcess.Start("enet-server", hardTimeout, [$"--port={port}", .. args]);
            try
            {
                await godot.WaitForLineAsync("READY", wait);
                return (godot, port);
            }
            catch (Exception) when (attempt < 3 && godot.DoneLine?.StartsWith("DONE fail", StringComparison.Ordinal) == true)
            {
                // Godot could not listen (exit code 3): another process took the port after FreePort.
                await godot.DisposeAsync();
            }
            catch
            {
                await godot.DisposeAsync();
                throw;
            }
        }
    }
}
