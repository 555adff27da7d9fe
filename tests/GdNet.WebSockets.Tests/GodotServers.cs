using GdNet.TestSupport;

namespace GdNet.WebSockets.Tests;

/// <summary>Starts a real Godot server peer on a free port, trying another port if that one was taken in the meantime.</summary>
public static class GodotServers
{
    /// <summary>The running Godot peer (READY printed) and its port. Up to 3 ports are tried.</summary>
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
            catch (InvalidOperationException) when (attempt < 3 && godot.DoneLine?.StartsWith("DONE fail setup_error", StringComparison.Ordinal) == true)
            {
                // Another process took the port between FreePort and Godot's listen (exit code 3): try another.
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
