Console.WriteLine("UdpCustomPeer sample: being built.");
