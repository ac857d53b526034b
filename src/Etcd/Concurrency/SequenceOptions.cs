namespace Etcd.Concurrency;

/// <summary>Settings of an <see cref="EtcdSequence"/>, validated when set.</summary>
public sealed record SequenceOptions
{
    /// <summary>The largest <see cref="BlockSize"/> accepted.</summary>
    public const int MaxBlockSize = 1_000_000;

    private readonly int _blockSize = 1;

    /// <summary>
    /// How many ids one compare-and-swap reserves (default 1, from 1 to <see cref="MaxBlockSize"/>). With 1 every id
    /// costs a round trip and ids are increasing across all generators; with more, ids are handed out from the
    /// reserved block locally: still unique across generators and increasing per generator, but not ordered across
    /// generators, and the unused rest of a block is skipped when the generator is dropped.
    /// </summary>
    public int BlockSize
    {
        get => _blockSize;
        init
        {
            if (value < 1 || value > MaxBlockSize)
                throw new ArgumentOutOfRangeException(nameof(BlockSize), value, $"SequenceOptions.BlockSize must be between 1 and {MaxBlockSize}.");
            _blockSize = value;
        }
    }
}
