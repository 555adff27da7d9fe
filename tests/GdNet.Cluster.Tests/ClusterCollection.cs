namespace GdNet.Cluster.Tests;

/// <summary>The tests that start cluster nodes run one at a time: each starts several servers and clients on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection
{
    public const string Name = "cluster nodes";
}
