using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// An in-process loopback TCP forwarder to put between a client and etcd, so a test can break the network on demand:
/// <see cref="CutAll"/> resets every live connection (RST on both sides, as a crashed peer or a middlebox would),
/// <see cref="Refusing"/> resets new connections as soon as they are accepted (a server that cannot be reached), and
/// <see cref="Pause"/>/<see cref="Resume"/> stall the bytes in both directions without closing anything.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gateLock = new();
    private TaskCompletionSource _flowing = NewCompleted();
    private Task _acceptLoop = Task.CompletedTask;
    private volatile bool _refusing;
    private int _accepted;
    private int _cuts;

    private TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
    }

    /// <summary>The port the proxy listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:{Port}</c>, to give a client instead of etcd's URL.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>How many connections the proxy has accepted (including refused ones).</summary>
    public int AcceptedCount => Volatile.Read(ref _accepted);

    /// <summary>How many connections are being forwarded right now.</summary>
    public int LiveCount => _connections.Count;

    /// <summary>How many connections <see cref="CutAll"/> has reset in total.</summary>
    public int CutCount => Volatile.Read(ref _cuts);

    /// <summary>While true, every newly accepted connection is reset at once (existing ones are untouched).</summary>
    public bool Refusing
    {
        get => _refusing;
        set => _refusing = value;
    }

    /// <summary>Starts forwarding 127.0.0.1:<see cref="Port"/> to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static Task<TcpProxy> StartAsync(int targetPort)
    {
        var proxy = new TcpProxy(targetPort);
        proxy._listener.Start(backlog: 128);
        proxy.Port = ((IPEndPoint)proxy._listener.LocalEndpoint).Port;
        proxy._acceptLoop = Task.Run(proxy.AcceptLoopAsync);
        return Task.FromResult(proxy);
    }

    /// <summary>Resets (RST) every live connection, client side and server side; returns how many there were.</summary>
    public int CutAll()
    {
        int count = 0;
        foreach (var connection in _connections.Keys)
        {
            if (connection.Reset()) count++;
        }
        Interlocked.Add(ref _cuts, count);
        return count;
    }

    /// <summary>Stops forwarding bytes in both directions (connections stay open and new ones are accepted but stall).</summary>
    public void Pause()
    {
        lock (_gateLock)
        {
            if (_flowing.Task.IsCompleted) _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Forwards again after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        lock (_gateLock) _flowing.TrySetResult();
    }

    /// <summary>Stops listening and resets every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        Resume();
        _listener.Stop();
        CutAll();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The accept loop ends with the listener; nothing to report.
        }
        var pumps = _connections.Keys.Select(c => c.Completion).ToArray();
        try
        {
            await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Every socket is closed; a pump that has not noticed yet is harmless.
        }
    }

    private static TaskCompletionSource NewCompleted()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    private Task WaitFlowingAsync()
    {
        lock (_gateLock) return _flowing.Task;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            Interlocked.Increment(ref _accepted);
            client.NoDelay = true;
            if (_refusing)
            {
                ResetSocket(client);
                continue;
            }
            _ = Task.Run(() => ConnectAsync(client));
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            ResetSocket(upstream);
            ResetSocket(client); // the target is down: the client sees a reset, as with a dead server behind a proxy
            return;
        }
        var connection = new Connection(client, upstream);
        _connections[connection] = 0;
        if (_stop.IsCancellationRequested || _refusing)
        {
            connection.Reset();
        }
        connection.Completion = Task.WhenAll(
            Task.Run(() => PumpAsync(connection, client, upstream)),
            Task.Run(() => PumpAsync(connection, upstream, client)));
        _ = connection.Completion.ContinueWith(_ => _connections.TryRemove(connection, out byte _), TaskScheduler.Default);
    }

    private async Task PumpAsync(Connection connection, Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    // Orderly close: pass the half-close on.
                    try
                    {
                        to.Shutdown(SocketShutdown.Send);
                    }
                    catch (Exception)
                    {
                    }
                    return;
                }
                await WaitFlowingAsync().ConfigureAwait(false);
                if (connection.IsReset) return;
                int sent = 0;
                while (sent < read)
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Either side failed or was reset: reset the other side too, so nobody waits on a half-dead connection.
            connection.Reset();
        }
    }

    private static void ResetSocket(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
        }
        catch (Exception)
        {
        }
        try
        {
            socket.Close();
        }
        catch (Exception)
        {
        }
    }

    private sealed class Connection(Socket client, Socket upstream)
    {
        private int _reset;

        public Task Completion { get; set; } = Task.CompletedTask;

        public bool IsReset => Volatile.Read(ref _reset) != 0;

        public bool Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0) return false;
            ResetSocket(client);
            ResetSocket(upstream);
            return true;
        }
    }
}
