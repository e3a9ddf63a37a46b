//! Container isolation: cgroups v1 and v2 and a posix fallback (issue: agents isolate).
