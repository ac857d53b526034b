using Etcd.Concurrency;

namespace Etcd.Tests.Unit;

public class TransientRetryTests
{
    [Fact]
    public async Task Transient_failures_are_retried_until_the_read_succeeds()
    {
        var calls = 0;
        var result = await TransientRetry.ReadAsync(_ =>
        {
            calls++;
            if (calls == 1) throw new EtcdConnectionException("refused");
            if (calls == 2) throw new EtcdUnavailableException("leader changed");
            return Task.FromResult(42);
        }, CancellationToken.None, CancellationToken.None);
        Assert.Equal((42, 3), (result, calls));
    }

    [Fact]
    public async Task Non_transient_failures_are_not_retried()
    {
        var calls = 0;
        await Assert.ThrowsAsync<EtcdCompactedException>(() => TransientRetry.ReadAsync<int>(_ =>
        {
            calls++;
            throw new EtcdCompactedException("compacted", 5, 10);
        }, CancellationToken.None, CancellationToken.None));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Cancellation_while_retrying_is_the_callers_cancellation()
    {
        using var cancel = new CancellationTokenSource();
        var calls = 0;
        var read = TransientRetry.ReadAsync<int>(_ =>
        {
            if (++calls == 3) cancel.Cancel();
            throw new EtcdUnavailableException("down");
        }, CancellationToken.None, cancel.Token);
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Giving_up_rethrows_the_last_transient_failure()
    {
        using var giveUp = new CancellationTokenSource();
        var calls = 0;
        var read = TransientRetry.ReadAsync<int>(_ =>
        {
            if (++calls == 2) giveUp.Cancel();
            throw new EtcdUnavailableException($"down {calls}");
        }, giveUp.Token, CancellationToken.None);
        var error = await Assert.ThrowsAsync<EtcdUnavailableException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("down 2", error.Message);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Pauses_double_from_50_ms_up_to_1_s()
    {
        var stamps = new List<DateTime>();
        await TransientRetry.ReadAsync(_ =>
        {
            stamps.Add(DateTime.UtcNow);
            if (stamps.Count < 4) throw new EtcdUnavailableException("down");
            return Task.FromResult(0);
        }, CancellationToken.None, CancellationToken.None);
        var gaps = stamps.Zip(stamps.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToArray();
        // 50, 100, 200 ms (plus up to 25 % jitter): each at least its base, and the total well under a second.
        Assert.True(gaps[0] >= 45 && gaps[1] >= 95 && gaps[2] >= 195, string.Join(", ", gaps));
        Assert.True(gaps.Sum() < 1500, string.Join(", ", gaps));
        Assert.Equal(TimeSpan.FromSeconds(1), TransientRetry.MaxDelay);
    }
}
