namespace Etcd.Tests.Unit;

public class RetryPolicyTests
{
    [Fact]
    public void Backoff_grows_by_the_multiplier_up_to_the_maximum_without_jitter()
    {
        var policy = new EtcdRetryPolicy { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50), Jitter = 0 };

        Assert.Equal(
            [10, 20, 40, 50, 50],
            Enumerable.Range(1, 5).Select(retry => policy.GetBackoff(retry).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(50), policy.GetBackoff(1_000));
    }

    [Fact]
    public void Jitter_draws_each_pause_between_its_lower_bound_and_the_full_pause()
    {
        var policy = new EtcdRetryPolicy { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(100), Jitter = 0.5 };

        var pauses = Enumerable.Range(0, 200).Select(_ => policy.GetBackoff(1).TotalMilliseconds).ToList();

        Assert.All(pauses, p => Assert.InRange(p, 50, 100));
        Assert.True(pauses.Distinct().Count() > 10, "jitter should spread the pauses");
    }

    [Fact]
    public void Presets_have_the_documented_shape()
    {
        Assert.Equal(1, EtcdRetryPolicy.None.MaxAttempts);
        Assert.Equal(5, EtcdRetryPolicy.Default.MaxAttempts);
        Assert.True(EtcdRetryPolicy.Default.RetryReads);
        Assert.Equal(int.MaxValue, EtcdRetryPolicy.UntilDeadline.MaxAttempts);
    }

    [Fact]
    public void Invalid_policies_are_refused_when_the_client_is_created()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = new() { MaxAttempts = 0 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = new() { InitialBackoff = TimeSpan.FromSeconds(2), MaxBackoff = TimeSpan.FromSeconds(1) } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = new() { BackoffMultiplier = 0.5 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = new() { Jitter = 1.5 } }));
        Assert.Throws<ArgumentNullException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = null! }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { EndpointSyncInterval = TimeSpan.FromMilliseconds(10) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { EndpointSyncInterval = TimeSpan.FromDays(60) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = new() { MaxBackoff = TimeSpan.FromDays(2) } }));
        // Nothing would ever end such a call against a dead cluster.
        Assert.Throws<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { RetryPolicy = EtcdRetryPolicy.UntilDeadline, RequestTimeout = Timeout.InfiniteTimeSpan }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdRetryPolicy().GetBackoff(0));
    }

    [Fact]
    public void A_zero_initial_backoff_never_pauses_even_with_a_huge_multiplier()
    {
        var policy = new EtcdRetryPolicy { InitialBackoff = TimeSpan.Zero, BackoffMultiplier = 1e300 };

        Assert.Equal(TimeSpan.Zero, policy.GetBackoff(1));
        Assert.Equal(TimeSpan.Zero, policy.GetBackoff(60));
    }
}
