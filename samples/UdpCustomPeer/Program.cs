using System.Diagnostics;
using System.Text;
using UdpCustomPeer;

// A server and two clients in one process, talking UDP through 127.0.0.1. A game hands each transport's Peer to
// MultiplayerAPI; here the peers are driven by hand: PutPacket to send, Poll and GetPacket to receive.
using var server = UdpTransport.Listen();
using var alice = UdpTransport.Connect(server.LocalEndPoint);
using var bob = UdpTransport.Connect(server.LocalEndPoint);
UdpTransport[] everyone = [server, alice, bob];
var received = 0;
foreach (var t in everyone)
{
    t.Peer.PeerConnected += id => Console.WriteLine($"peer {t.Peer.GetUniqueId()}: peer {id} connected");
}

PollUntil(() => alice.Peer.GetPeers().Length == 2 && bob.Peer.GetPeers().Length == 2);

alice.Peer.SetTargetPeer(0); // everyone: the server, and bob through the server's relay
alice.Peer.PutPacket("hello, everyone"u8);
bob.Peer.SetTargetPeer(alice.Peer.GetUniqueId());
bob.Peer.PutPacket("hi alice"u8);

PollUntil(() => received == 3);
Console.WriteLine("done");

void PollUntil(Func<bool> done)
{
    var clock = Stopwatch.StartNew();
    while (!done())
    {
        if (clock.Elapsed > TimeSpan.FromSeconds(5))
        {
            throw new TimeoutException("The peers did not get there in 5 seconds.");
        }

        foreach (var t in everyone)
        {
            t.Peer.Poll();
            while (t.Peer.AvailablePacketCount > 0)
            {
                var from = t.Peer.GetPacketPeer();
                Console.WriteLine($"peer {t.Peer.GetUniqueId()} got \"{Encoding.UTF8.GetString(t.Peer.GetPacket())}\" from {from}");
                received++;
            }
        }

        Thread.Sleep(1);
    }
}
