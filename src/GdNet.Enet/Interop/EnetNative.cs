using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GdNet.Enet.Interop;

/// <summary>
/// The whole native surface GdNet uses from the ENet 1.3 C library (the library Godot 3 embeds; Debian's <c>libenet7</c>
/// is 1.3.17). Functions are <see cref="LibraryImportAttribute"/> stubs resolved by <see cref="EnsureLoaded"/>; structs are
/// read at fixed offsets of the LP64 layout (Linux and macOS, x86_64 and arm64), checked once per host by
/// <see cref="CheckHostLayout"/>.
/// </summary>
/// <remarks>
/// Threading: every function that takes a host or a peer is called on the host's service thread only.
/// <see cref="enet_packet_create"/> and <see cref="enet_packet_destroy"/> touch only the packet (plain malloc/free), so the
/// game thread may build an outgoing packet before handing it to the service thread.
/// </remarks>
internal static unsafe partial class EnetNative
{
    private const string LibraryName = "enet";

    // ENET_PACKET_FLAG_*
    public const uint PacketFlagReliable = 1 << 0;
    public const uint PacketFlagUnsequenced = 1 << 1;
    public const uint PacketFlagUnreliableFragment = 1 << 3;

    // ENetEventType
    public const int EventNone = 0;
    public const int EventConnect = 1;
    public const int EventDisconnect = 2;
    public const int EventReceive = 3;

    /// <summary>Not an ENet event: GdNet's intercept hook reports its wake-up datagram with this type, so that a blocking
    /// <c>enet_host_service</c> returns at once (ENet returns when the hook consumes a datagram and sets an event).</summary>
    public const int EventWake = 100;

    /// <summary>ENET_HOST_DEFAULT_MAXIMUM_PACKET_SIZE and ..._WAITING_DATA: 32 MiB each.</summary>
    public const long EnetDefaultMaximumPacketSize = 32L * 1024 * 1024;

    /// <summary>ENET_PROTOCOL_MAXIMUM_MTU: the largest datagram ENet handles (and its decompression buffer).</summary>
    public const int MaximumMtu = 4096;

    /// <summary>ENet's protocol header flags (big-endian u16): the commands are compressed, the header has a sent time.</summary>
    public const int HeaderFlagCompressed = 1 << 14;
    public const int HeaderFlagSentTime = 1 << 15;

    /// <summary>ENET_PROTOCOL_MAXIMUM_PEER_ID: also the largest peer count of a host and ENet's default duplicatePeers.</summary>
    public const int MaximumPeerId = 0xFFF;

    // Offsets in the LP64 layout of ENet 1.3.x (read from enet.h and checked with offsetof on x86_64 Linux, 1.3.17).
    private const int HostPeers = 40;
    private const int HostPeerCount = 48;
    private const int HostChannelLimit = 56;
    private const int HostAddress = 4;
    private const int HostReceivedAddress = 10936;
    private const int HostReceivedData = 10944;
    private const int HostReceivedDataLength = 10952;
    private const int HostIntercept = 10976;
    private const int HostDuplicatePeers = 11000;
    private const int HostMaximumPacketSize = 11008;
    private const int HostMaximumWaitingData = 11016;
    private const int PeerIncomingPeerId = 26;
    private const int PeerAddress = 36;
    private const int PeerPacketLoss = 132;
    private const int PeerPacketThrottleLimit = 144;
    private const int PeerPingInterval = 168;
    private const int PeerTimeoutLimit = 172;
    private const int PeerRoundTripTime = 200;

    /// <summary>ENET_PEER_PACKET_LOSS_SCALE: <c>packetLoss</c> is a ratio over this.</summary>
    public const int PacketLossScale = 1 << 16;

    private static readonly Lock LoadGate = new();
    private static bool _loaded;

    /// <summary>ENetAddress: an IPv4 address in network byte order and a port in host byte order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EnetAddress
    {
        public uint Host;
        public ushort Port;
    }

    /// <summary>ENetEvent (32 bytes on LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EnetEvent
    {
        public int Type;
        public nint Peer;
        public byte ChannelId;
        public uint Data;
        public nint Packet;
    }

    /// <summary>The head of ENetPacket: every field GdNet reads or writes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EnetPacket
    {
        public nuint ReferenceCount;
        public uint Flags;
        public byte* Data;
        public nuint DataLength;
    }

    /// <summary>The library names tried, in order, for this operating system.</summary>
    public static IReadOnlyList<string> CandidateNames { get; } =
        OperatingSystem.IsWindows() ? ["enet.dll", "libenet.dll", "enet"]
        : OperatingSystem.IsMacOS() ? ["libenet.7.dylib", "libenet.dylib", "enet"]
        : ["libenet.so.7", "libenet.so", "enet"];

    /// <summary>The message of the exception thrown when no candidate loads.</summary>
    public static string MissingLibraryMessage =>
        "The ENet 1.3 native library was not found (tried " + string.Join(", ", CandidateNames) + "). "
        + "Install it: Debian/Ubuntu `apt-get install libenet7`, Fedora `dnf install enet`, Arch `pacman -S enet`, "
        + "macOS `brew install enet`; Windows: build ENet 1.3 and ship enet.dll beside the application.";

    /// <summary>
    /// Loads the library, checks that it is ENet 1.3 and calls <c>enet_initialize</c> once per process. Any thread.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library is not installed; the message names the package.</exception>
    /// <exception cref="PlatformNotSupportedException">A library that is not ENet 1.3.x, or a 32-bit process.</exception>
    public static void EnsureLoaded()
    {
        lock (LoadGate)
        {
            if (_loaded)
            {
                return;
            }

            if (!Environment.Is64BitProcess)
            {
                throw new PlatformNotSupportedException("GdNet.Enet reads ENet's structs in their 64-bit layout; run a 64-bit process.");
            }

            NativeLibrary.SetDllImportResolver(typeof(EnetNative).Assembly, Resolve);
            uint version;
            try
            {
                version = enet_linked_version();
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(MissingLibraryMessage, e);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new PlatformNotSupportedException("The library found as ENet has no enet_linked_version: it is not ENet 1.3.", e);
            }

            if (version >> 16 != 1 || ((version >> 8) & 0xFF) != 3)
            {
                throw new PlatformNotSupportedException($"ENet {version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF} was loaded; GdNet needs ENet 1.3.x (the protocol Godot 3 speaks).");
            }

            if (enet_initialize() != 0)
            {
                throw new PlatformNotSupportedException("enet_initialize failed.");
            }

            LinkedVersion = new Version((int)(version >> 16), (int)((version >> 8) & 0xFF), (int)(version & 0xFF));
            _loaded = true;
        }
    }

    /// <summary>The version of the loaded library (after <see cref="EnsureLoaded"/>).</summary>
    public static Version? LinkedVersion { get; private set; }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName)
        {
            return 0;
        }

        foreach (var candidate in CandidateNames)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(MissingLibraryMessage);
    }

    [LibraryImport(LibraryName)]
    private static partial int enet_initialize();

    [LibraryImport(LibraryName)]
    private static partial uint enet_linked_version();

    [LibraryImport(LibraryName)]
    public static partial nint enet_host_create(EnetAddress* address, nuint peerCount, nuint channelLimit, uint incomingBandwidth, uint outgoingBandwidth);

    [LibraryImport(LibraryName)]
    public static partial void enet_host_destroy(nint host);

    [LibraryImport(LibraryName)]
    public static partial nint enet_host_connect(EnetHostHandle host, EnetAddress* address, nuint channelCount, uint data);

    [LibraryImport(LibraryName)]
    public static partial int enet_host_service(EnetHostHandle host, EnetEvent* ev, uint timeoutMs);

    [LibraryImport(LibraryName)]
    public static partial void enet_host_flush(EnetHostHandle host);

    [LibraryImport(LibraryName)]
    public static partial int enet_socket_set_option(int socket, int option, int value);

    [LibraryImport(LibraryName)]
    public static partial int enet_host_compress_with_range_coder(EnetHostHandle host);

    [LibraryImport(LibraryName)]
    public static partial void enet_host_compress(EnetHostHandle host, nint compressor);

    [LibraryImport(LibraryName)]
    public static partial nint enet_range_coder_create();

    [LibraryImport(LibraryName)]
    public static partial void enet_range_coder_destroy(nint context);

    [LibraryImport(LibraryName)]
    public static partial nuint enet_range_coder_decompress(nint context, byte* inData, nuint inLimit, byte* outData, nuint outLimit);

    [LibraryImport(LibraryName)]
    public static partial EnetPacket* enet_packet_create(void* data, nuint dataLength, uint flags);

    [LibraryImport(LibraryName)]
    public static partial void enet_packet_destroy(EnetPacket* packet);

    [LibraryImport(LibraryName)]
    public static partial int enet_peer_send(nint peer, byte channelId, EnetPacket* packet);

    [LibraryImport(LibraryName)]
    public static partial void enet_peer_disconnect(nint peer, uint data);

    [LibraryImport(LibraryName)]
    public static partial void enet_peer_disconnect_now(nint peer, uint data);

    [LibraryImport(LibraryName)]
    public static partial void enet_peer_disconnect_later(nint peer, uint data);

    [LibraryImport(LibraryName)]
    public static partial void enet_peer_reset(nint peer);

    [LibraryImport(LibraryName)]
    public static partial void enet_peer_timeout(nint peer, uint timeoutLimit, uint timeoutMinimum, uint timeoutMaximum);

    /// <summary>Destroys <paramref name="packet"/> unless a peer queue still holds a reference (ENet's own rule).</summary>
    public static void ReleaseIfUnreferenced(EnetPacket* packet)
    {
        if (packet->ReferenceCount == 0)
        {
            enet_packet_destroy(packet);
        }
    }

    /// <summary>An <see cref="EnetAddress"/> for an IPv4 address (ENet 1.3 is IPv4-only).</summary>
    public static EnetAddress ToAddress(IPAddress ip, int port)
    {
        if (ip.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"ENet 1.3 is IPv4-only; {ip} is not an IPv4 address.", nameof(ip));
        }

        Span<byte> bytes = stackalloc byte[4];
        ip.TryWriteBytes(bytes, out _);
        return new EnetAddress { Host = MemoryMarshal.Read<uint>(bytes), Port = (ushort)port };
    }

    /// <summary>The endpoint of an <see cref="EnetAddress"/>.</summary>
    public static IPEndPoint ToEndPoint(EnetAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in address.Host);
        return new IPEndPoint(new IPAddress(bytes), address.Port);
    }

    // ---- struct fields (service thread) ----

    public static EnetAddress HostAddressOf(EnetHostHandle host) => *(EnetAddress*)(host.Pointer + HostAddress);

    public static nint PeersOf(EnetHostHandle host) => *(nint*)(host.Pointer + HostPeers);

    public static int PeerCountOf(EnetHostHandle host) => (int)*(nuint*)(host.Pointer + HostPeerCount);

    public static void SetLimits(EnetHostHandle host, long maximumPacketSize, long maximumWaitingData)
    {
        *(nuint*)(host.Pointer + HostMaximumPacketSize) = (nuint)maximumPacketSize;
        *(nuint*)(host.Pointer + HostMaximumWaitingData) = (nuint)maximumWaitingData;
    }

    /// <summary>ENet's <c>ENET_SOCKOPT_RCVBUF</c>.</summary>
    public const int SocketOptionReceiveBuffer = 3;

    /// <summary>The host's UDP socket (<c>ENetHost.socket</c>, its first field; an int on Unix).</summary>
    public static int SocketOf(EnetHostHandle host) => *(int*)host.Pointer;

    public static void SetIntercept(EnetHostHandle host, delegate* unmanaged[Cdecl]<nint, nint, int> intercept)
        => *(nint*)(host.Pointer + HostIntercept) = (nint)intercept;

    public static ReadOnlySpan<byte> ReceivedData(nint host)
        => new(*(byte**)(host + HostReceivedData), (int)*(nuint*)(host + HostReceivedDataLength));

    public static EnetAddress ReceivedAddress(nint host) => *(EnetAddress*)(host + HostReceivedAddress);

    public static int PeerIndexOf(nint peer) => *(ushort*)(peer + PeerIncomingPeerId);

    public static EnetAddress PeerAddressOf(nint peer) => *(EnetAddress*)(peer + PeerAddress);

    public static uint RoundTripTimeOf(nint peer) => *(uint*)(peer + PeerRoundTripTime);

    /// <summary>ENet's smoothed loss of reliable packets, over <see cref="PacketLossScale"/> (recomputed by ENet every 10 s).</summary>
    public static uint PacketLossOf(nint peer) => *(uint*)(peer + PeerPacketLoss);

    /// <summary>
    /// Checks, on a peer just given <c>enet_peer_timeout(limit, minimum, maximum)</c>, that the fields around the ones
    /// GdNet reads (packet loss at 132, round-trip time at 200) sit where GdNet expects: the throttle limit (ENet's 32),
    /// the ping interval (500 ms) and the three timeouts read back. Returns null when they do, else what differed.
    /// </summary>
    public static string? CheckPeerLayout(nint peer, uint timeoutLimit, uint timeoutMinimum, uint timeoutMaximum)
    {
        var throttleLimit = *(uint*)(peer + PeerPacketThrottleLimit);
        var ping = *(uint*)(peer + PeerPingInterval);
        var timeouts = (*(uint*)(peer + PeerTimeoutLimit), *(uint*)(peer + PeerTimeoutLimit + 4), *(uint*)(peer + PeerTimeoutLimit + 8));
        return throttleLimit == 32 && ping == 500 && timeouts == (timeoutLimit, timeoutMinimum, timeoutMaximum)
            ? null
            : $"ENetPeer read back throttle limit {throttleLimit}, ping interval {ping}, timeouts {timeouts} (expected 32, 500, {(timeoutLimit, timeoutMinimum, timeoutMaximum)})";
    }

    /// <summary>
    /// Checks, right after <c>enet_host_create</c>, that the fields GdNet writes sit where it writes them: the counts it
    /// asked for and ENet's documented defaults must read back. Returns null when they do, else what differed.
    /// </summary>
    public static string? CheckHostLayout(EnetHostHandle host, int peerCount, int channelLimit)
    {
        var p = host.Pointer;
        var readPeers = *(nuint*)(p + HostPeerCount);
        var readChannels = *(nuint*)(p + HostChannelLimit);
        var readDuplicates = *(nuint*)(p + HostDuplicatePeers);
        var readPacket = *(nuint*)(p + HostMaximumPacketSize);
        var readWaiting = *(nuint*)(p + HostMaximumWaitingData);
        if (readPeers == (nuint)peerCount && readChannels == (nuint)channelLimit && readDuplicates == MaximumPeerId
            && readPacket == (nuint)EnetDefaultMaximumPacketSize && readWaiting == (nuint)EnetDefaultMaximumPacketSize)
        {
            return null;
        }

        return $"peerCount {readPeers} (expected {peerCount}), channelLimit {readChannels} (expected {channelLimit}), duplicatePeers {readDuplicates}, "
            + $"maximumPacketSize {readPacket}, maximumWaitingData {readWaiting} (expected {MaximumPeerId}, {EnetDefaultMaximumPacketSize}, {EnetDefaultMaximumPacketSize})";
    }

    /// <summary>Reads a big-endian u32 (ENet's own protocol fields are big-endian).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadBigEndianU32(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt32BigEndian(s);
}

/// <summary>An <c>ENetHost*</c>. Released with <c>enet_host_destroy</c>, on the service thread that owns it.</summary>
internal sealed class EnetHostHandle : SafeHandle
{
    public EnetHostHandle()
        : base(0, ownsHandle: true)
    {
    }

    public EnetHostHandle(nint host)
        : base(0, ownsHandle: true)
    {
        SetHandle(host);
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>The raw pointer, for struct field access while the handle is alive (service thread).</summary>
    public nint Pointer => handle;

    protected override bool ReleaseHandle()
    {
        EnetNative.enet_host_destroy(handle);
        return true;
    }
}
