//! Zig's own futex (std.Io.futexWait / futexWake, Zig 0.15+: std.Thread.Futex moved into
//! std.Io) on bench/c/bench.cpp's two-thread ping-pong: two words, one per direction; each
//! side adds 1 and wakes, then waits for the other's word to move. Prints
//! "RESULT us <µs per round trip>..." on stderr, one sample per round trip.
const std = @import("std");
const linux = std.os.linux;

const warm = 2100;
var rounds: usize = 20000;

const Dir = struct {
    word: std.atomic.Value(u32) align(128) = .init(0),
};

var dirs: [2]Dir = .{ .{}, .{} };

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * 1_000_000_000 + @as(u64, @intCast(ts.nsec));
}

fn post(io: std.Io, d: usize) void {
    _ = dirs[d].word.fetchAdd(1, .seq_cst);
    io.futexWake(u32, &dirs[d].word.raw, 1);
}

fn wait(io: std.Io, d: usize, seen: u32) void {
    while (dirs[d].word.load(.seq_cst) == seen)
        io.futexWaitUncancelable(u32, &dirs[d].word.raw, seen);
}

fn ponger(io: std.Io) void {
    var i: u32 = 0;
    while (i < warm + rounds) : (i += 1) {
        wait(io, 0, i);
        post(io, 1);
    }
}

pub fn main(init: std.process.Init) !void {
    const io = init.io;
    if (init.environ_map.get("BENCH_ROUNDS")) |s| rounds = try std.fmt.parseInt(usize, s, 10);
    const samples = try init.gpa.alloc(f64, rounds);
    defer init.gpa.free(samples);
    const t = try std.Thread.spawn(.{}, ponger, .{io});
    var i: u32 = 0;
    while (i < warm + rounds) : (i += 1) {
        const t0 = nowNs();
        post(io, 0);
        wait(io, 1, i);
        const t1 = nowNs();
        if (i >= warm) samples[i - warm] = @as(f64, @floatFromInt(t1 - t0)) / 1000.0;
    }
    t.join();
    var buf: [1 << 16]u8 = undefined;
    var w = std.Io.File.stdout().writer(io, &buf);
    try w.interface.writeAll("RESULT us");
    for (samples) |s| try w.interface.print(" {d:.3}", .{s});
    try w.interface.writeAll("\n");
    try w.interface.flush();
}
