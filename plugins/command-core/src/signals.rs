//! How a process ended, in the words Mesos' command executor uses.

/// `SIGTERM` for 15 and so on; `signal N` for numbers without a common name.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// "Command exited with status 3" or "Command terminated with signal SIGKILL".
pub fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (_, Some(signal)) => format!("Command terminated with signal {}", signal_name(signal)),
        (Some(code), None) => format!("Command exited with status {code}"),
        (None, None) => "Command exited with an unknown status".to_string(),
    }
}
