namespace GdNet.Cluster;

/// <summary>How a node joins a cluster of GdNet relay servers over NATS.</summary>
public sealed class NatsClusterOptions
{
    /// <summary>The NATS server (JetStream on), e.g. <c>nats://127.0.0.1:4222</c>. Required.</summary>
    public string Url { get; set; } = "nats://127.0.0.1:4222";

    /// <summary>
    /// The cluster's name: nodes with the same NATS server and cluster name form one server. 1–32 characters of
    /// <c>A–Z a–z 0–9 _ -</c> (it is part of NATS subjects and bucket names). Default <c>gdnet</c>.
    /// </summary>
    public string ClusterName { get; set; } = "gdnet";

    /// <summary>This node's name in logs and status (1–64 characters of <c>A–Z a–z 0–9 _ - .</c>). Default: the machine name and process id.</summary>
    public string NodeName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>How often this node says it is alive. Default 500 ms.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A node not heard for this long (while this node is connected to NATS) is declared dead and its peers leave. Default 3 s.</summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A room's hosted logic is leased for this long and renewed a few times within it; a dead holder's lease runs out. Default 6 s.</summary>
    public TimeSpan HostLease { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>How long an admission waits for a new room to be opened in the cluster (subscribed, host claimed) before going on alone. Default 3 s.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Bytes queued for the cluster before senders are asked to wait (back-pressure, as the server's send budget). Default 16 MiB.</summary>
    public long MaxQueuedBytes { get; set; } = 16L << 20;

    /// <summary>
    /// The largest batch of records put in one NATS message (a larger single packet goes alone, up to the server's max
    /// payload). Default 16 KiB: under load the batches measured 4 to 8 KiB (100-odd 40-byte RPCs), so this bounds memory
    /// more than it limits batching.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Messages a room subscription may hold unread before NATS drops what does not fit (counted as
    /// <c>slow_consumer</c>, logged). Default 4,096: with <see cref="MaxBatchBytes"/> a room whose local members stall
    /// holds at most about 64 MiB of cluster traffic (more only if its packets are each larger than a batch).
    /// </summary>
    public int SubscriptionCapacity { get; set; } = 4_096;

    internal string? Validate()
    {
        static bool Valid(string s, int max, bool dot) =>
            s.Length is >= 1 && s.Length <= max && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || (dot && c == '.'));

        return this switch
        {
            { Url: null or "" } => "the NATS URL is empty",
            _ when !Valid(ClusterName, 32, dot: false) => "the cluster name must be 1-32 characters of A-Z a-z 0-9 _ -",
            _ when !Valid(NodeName, 64, dot: true) => "the node name must be 1-64 characters of A-Z a-z 0-9 _ - .",
            _ when HeartbeatInterval <= TimeSpan.Zero => "the heartbeat interval must be positive",
            _ when NodeTimeout < HeartbeatInterval * 2 => "the node timeout must be at least two heartbeat intervals",
            _ when HostLease < TimeSpan.FromSeconds(1) => "the host lease must be at least 1 s",
            { MaxQueuedBytes: < 1 } => "the queued-bytes budget must be positive",
            { MaxBatchBytes: < 1024 } => "the batch size must be at least 1024 bytes",
            { SubscriptionCapacity: < 16 } => "the subscription capacity must be at least 16",
            _ => null,
        };
    }
}
