// BenchmarkDotNet micro-benchmarks of the codec and framing paths: time and bytes allocated per message, no server.
//   dotnet run -c Release --project bench/Etcd.MicroBench -- --filter '*'            (full runs)
//   dotnet run -c Release --project bench/Etcd.MicroBench -- --filter '*' --job short (quick look)
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
