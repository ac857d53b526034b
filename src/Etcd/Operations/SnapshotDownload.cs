using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>Streams one member's snapshot into a stream or a file, chunk by chunk, checking etcd's checksum.</summary>
internal static class SnapshotDownload
{
    public static async Task<SnapshotResult> ToStreamAsync(EtcdCallInvoker invoker, Uri endpoint, Stream destination, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (call, more) = await OpenAsync(invoker, endpoint, cancellationToken).ConfigureAwait(false);
        using var checksum = new SnapshotChecksum();
        long? revision = null;
        await using (call.ConfigureAwait(false))
        {
            while (more)
            {
                var response = call.Current;
                if (revision is null && response.Header is { Revision: > 0 } header) revision = header.Revision;
                var blob = response.Blob.Memory;
                if (!blob.IsEmpty)
                {
                    checksum.Append(blob.Span);
                    await destination.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
                }
                more = await NextAsync(invoker, call, cancellationToken).ConfigureAwait(false);
            }
        }
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        var sha256 = checksum.Finish();
        return new SnapshotResult(endpoint, checksum.TotalBytes, revision, sha256);
    }

    /// <summary>
    /// Starts the call and waits for its first answer. etcd checks the auth token before sending anything, so a
    /// rejected token (refused with status Unknown, "auth: invalid auth token") costs nothing: the token is dropped and
    /// the call made once more with a new one.
    /// </summary>
    private static async Task<(GrpcServerStreamingCall<Pb.SnapshotResponse> Call, bool More)> OpenAsync(
        EtcdCallInvoker invoker, Uri endpoint, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            GrpcServerStreamingCall<Pb.SnapshotResponse> call;
            try
            {
                call = await invoker.StartServerStreamingAtAsync(endpoint, EtcdMethods.Snapshot, new Pb.SnapshotRequest(), cancellationToken).ConfigureAwait(false);
            }
            catch (GrpcCallException error)
            {
                throw ErrorMapper.Map(error, EtcdMethods.Snapshot.Path);
            }
            try
            {
                return (call, await call.MoveNextAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (GrpcCallException error) when (attempt == 1 && NeedsNewToken(invoker, error))
            {
                await call.DisposeAsync().ConfigureAwait(false);
                invoker.InvalidateToken();
            }
            catch (GrpcCallException error)
            {
                await call.DisposeAsync().ConfigureAwait(false);
                if (NeedsNewToken(invoker, error)) invoker.InvalidateToken();
                throw ErrorMapper.Map(error, EtcdMethods.Snapshot.Path);
            }
            catch
            {
                await call.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>A stale token, or none sent to a cluster that has enabled auth since the client found it off ("auth: user name is empty").</summary>
    private static bool NeedsNewToken(EtcdCallInvoker invoker, GrpcCallException error) =>
        AuthErrors.IsTokenRejected(error) || (invoker.HasCredentials && AuthErrors.IsUserEmpty(error.Detail));

    private static async ValueTask<bool> NextAsync(EtcdCallInvoker invoker, GrpcServerStreamingCall<Pb.SnapshotResponse> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcCallException error)
        {
            throw ErrorMapper.Map(error, EtcdMethods.Snapshot.Path);
        }
        catch (ObjectDisposedException error) when (invoker.MapRetired(error, EtcdMethods.Snapshot.Path) is { } retired)
        {
            throw retired;
        }
    }

    /// <summary>
    /// Writes to a temporary file next to <paramref name="path"/>, flushes it to disk and renames it over
    /// <paramref name="path"/> only once the checksum held (like <c>etcdctl snapshot save</c>); any failure deletes it.
    /// </summary>
    public static async Task<SnapshotResult> ToFileAsync(EtcdCallInvoker invoker, Uri endpoint, string path, CancellationToken cancellationToken)
    {
        var fullPath = Path.GetFullPath(path);
        var partPath = $"{fullPath}.{Guid.NewGuid():N}.part";
        try
        {
            SnapshotResult result;
            var file = new FileStream(partPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                result = await ToStreamAsync(invoker, endpoint, file, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(partPath, fullPath, overwrite: true);
            return result;
        }
        catch
        {
            TryDelete(partPath);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original error is what the caller needs to see.
        }
    }
}
