namespace GdNet.TestSupport;

/// <summary>Starts a real Godot server peer (ws-server, enet-server) on a free port, trying another port if that one
/// was taken in the meantime (other tests bind ephemeral ports concurrently).</summary>
public static class GodotServers
{
    /// <summary>The running Godot peer <paramref name="name"/> (READY printed) and its port. Up to 3 ports are tried.</summary>
    public static async Task<(GodotPeerProcess Godot, int Port)> StartAsync(string name, TimeSpan hardTimeout, TimeSpan wait, params string[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = GodotPeerProcess.FreePort();
            var godot = GodotPeerProcess.Start(name, hardTimeout, [$"--port={port}", .. args]);
            try
            {
                await godot.WaitForLineAsync("READY", wait);
                return (godot, port);
            }
            catch (Exception) when (attempt < 3 && godot.DoneLine?.StartsWith("DONE fail setup_error", StringComparison.Ordinal) == true)
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
