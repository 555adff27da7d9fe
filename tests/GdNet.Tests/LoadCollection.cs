using Xunit;

namespace GdNet.Tests;

/// <summary>
/// Tests that load the machine (many clients, many threads, long runs) run in this collection: one at a time, after
/// the assembly's other tests, never beside the tests that wait on timeouts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "load";
}
