using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GdNet.Peers;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>Who gets in: refusing, the client limit, subprotocols and TLS.</summary>
public class AdmissionTests
{
    private static async Task<Probe> TryConnectAsync(string url, string[]? protocols = null, Action<WebSocketClient>? configure = null)
    {
        var client = new WebSocketClient();
        configure?.Invoke(client);
        var probe = new Probe(client);
        Assert.Equal(Error.Ok, client.ConnectToUrl(url, protocols));
        await PumpUntilAsync(() => probe.Has("succeeded") || probe.Has("failed"), probe);
        return probe;
    }

    [Fact]
    public async Task RefuseNewConnections_Set_NewClientFailsAndRefusalCounted()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;

        server.RefuseNewConnections = true;
        var refused = await TryConnectAsync(server.Url!);

        Assert.Equal(["failed"], refused.Events);
        await PumpUntilAsync(() => sp.Rejections.Any(r => r.Reason == PacketRejectReason.Refused), sp);
        Assert.Equal(ConnectionStatus.Connected, a.GetConnectionStatus());
        await ((WebSocketClient)refused.Peer).DisposeAsync();
    }

    [Fact]
    public async Task RefuseNewConnections_Cleared_ClientsAcceptedAgain()
    {
        await using var server = StartServer();
        server.RefuseNewConnections = true;
        server.RefuseNewConnections = false;

        var probe = await TryConnectAsync(server.Url!);

        Assert.Contains("succeeded", probe.Events);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public async Task MaxClients_Reached_NextClientFails()
    {
        await using var server = StartServer(s => s.MaxClients = 1);
        var sp = new Probe(server);
        var (a, _) = await ConnectAsync(server, sp);
        await using var __ = a;

        var refused = await TryConnectAsync(server.Url!);

        Assert.Equal(["failed"], refused.Events);
        Assert.Equal(1, server.PeerCount);
        await ((WebSocketClient)refused.Peer).DisposeAsync();
    }

    [Fact]
    public async Task Subprotocols_ClientOffersOneInList_ServerChoosesFirstOffered()
    {
        await using var server = StartServer(protocols: ["godot", "other"]);

        var probe = await TryConnectAsync(server.Url!, ["unknown", "other", "godot"]);

        Assert.Contains("succeeded", probe.Events);
        Assert.Equal("other", ((WebSocketClient)probe.Peer).SelectedProtocol);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public async Task Subprotocols_ClientOffersNone_Refused()
    {
        await using var server = StartServer(protocols: ["godot"]);

        var probe = await TryConnectAsync(server.Url!);

        Assert.Equal(["failed"], probe.Events);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public async Task Subprotocols_ServerHasNoneClientOffersOne_Refused()
    {
        await using var server = StartServer();

        var probe = await TryConnectAsync(server.Url!, ["godot"]);

        Assert.Equal(["failed"], probe.Events);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public async Task Tls_ClientTrustsCertificate_ExchangesPacketsOverWss()
    {
        using var cert = SelfSigned();
        await using var server = StartServer(s => s.SslCertificate = cert);
        var sp = new Probe(server);
        Assert.StartsWith("wss://", server.Url, StringComparison.Ordinal);

        var probe = await TryConnectAsync(server.Url!, configure: c => c.TrustedSslCertificate = cert);
        var client = (WebSocketClient)probe.Peer;
        Send(client, 1, 1, 2);
        Send(server, 0, 3);

        await PumpUntilAsync(() => sp.Packets.Count == 1 && probe.Packets.Count == 1, sp, probe);
        Assert.Equal([1, 2], sp.Packets[0].Data);
        Assert.Equal([3], probe.Packets[0].Data);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Tls_UntrustedCertificate_ConnectionFailed()
    {
        using var cert = SelfSigned();
        await using var server = StartServer(s => s.SslCertificate = cert);

        var probe = await TryConnectAsync(server.Url!);

        Assert.Equal(["failed"], probe.Events);
        Assert.Contains("certificate", ((WebSocketClient)probe.Peer).CloseReason, StringComparison.OrdinalIgnoreCase);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public async Task Tls_VerifySslOff_ConnectsToUntrustedCertificate()
    {
        using var cert = SelfSigned();
        await using var server = StartServer(s => s.SslCertificate = cert);

        var probe = await TryConnectAsync(server.Url!, configure: c => c.VerifySsl = false);

        Assert.Contains("succeeded", probe.Events);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public void SslCertificate_WithoutPrivateKey_Throws()
    {
        using var cert = SelfSigned();
        using var publicOnly = X509CertificateLoader.LoadCertificate(cert.Export(X509ContentType.Cert));
        using var server = new WebSocketServer();

        Assert.Throws<ArgumentException>(() => server.SslCertificate = publicOnly);
    }

    [Fact]
    public async Task HandshakeTimeout_ClientSendsNothing_ConnectionClosed()
    {
        await using var server = StartServer(s => s.HandshakeTimeout = TimeSpan.FromMilliseconds(200));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.LocalPort);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var n = await tcp.GetStream().ReadAsync(new byte[1024], cts.Token);

        Assert.Equal(0, n);
    }

    [Fact]
    public async Task HandshakeTimeout_Short_IdleWebSocketStaysConnected()
    {
        await using var server = StartServer(s => s.HandshakeTimeout = TimeSpan.FromMilliseconds(200));
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;

        // What is tested is a timer that must not fire: let several handshake timeouts pass, then both directions still work.
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(ConnectionStatus.Connected, a.GetConnectionStatus());
        Send(a, 1, 1);
        await PumpUntilAsync(() => sp.Packets.Count == 1, sp, ap);
        Send(server, a.GetUniqueId(), 2);
        await PumpUntilAsync(() => ap.Packets.Count == 1, sp, ap);
        Assert.DoesNotContain("server_disconnected", ap.Events);
    }

    [Fact]
    public async Task ConnectTimeout_ServerNeverAnswers_ConnectionFailedWithReason()
    {
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;

        var probe = await TryConnectAsync($"ws://127.0.0.1:{port}", configure: c => c.ConnectTimeout = TimeSpan.FromMilliseconds(300));

        Assert.Equal(["failed"], probe.Events);
        Assert.Equal("timed out", ((WebSocketClient)probe.Peer).CloseReason);
        await ((WebSocketClient)probe.Peer).DisposeAsync();
    }

    [Fact]
    public void BindIp_Hostname_Throws()
    {
        using var server = new WebSocketServer();

        Assert.Throws<ArgumentException>(() => server.BindIp = "example.org");
    }
}
