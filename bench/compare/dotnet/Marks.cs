namespace Etcd.Bench.Peer;

/// <summary>
/// With --sync: prints "@mark NAME" and waits for the driver's line on stdin, so the driver samples /proc exactly at
/// the edges of the measured window. Without it marks do nothing.
/// </summary>
internal sealed class Marks(bool sync)
{
    public void Mark(string name)
    {
        if (!sync) return;
        Console.Out.Write("@mark " + name + "\n");
        Console.Out.Flush();
        if (Console.In.ReadLine() is null) throw new InvalidOperationException("the driver closed stdin");
    }

    /// <summary>A full, compacting collection, so a following memory sample holds only live objects.</summary>
    public static void CollectGarbage()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
