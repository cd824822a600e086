//! Each client's pings held to `[serve] ping_rate`: a token bucket per IP address, answered
//! `429` with `Retry-After` when empty. Loopback is not held: a process on this machine may
//! write the heartbeat file itself, so a limit there protects nothing (behind a reverse
//! proxy on this machine, the proxy limits: docs/serve.md). The table is bounded
//! ([`MAX_CLIENTS`]): a flood from many addresses forgets the quietest, never grows memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::config::PingRate;
use crate::http::Response;

/// The most clients remembered; a new one past it takes the place of the one seen longest
/// ago (a full bucket is forgotten first: it is what a new client gets anyway).
pub const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was counted.
    at: Instant,
}

/// The buckets of every client, or none with `ping_rate = "off"`.
#[derive(Debug)]
pub struct Limiter {
    rate: Option<PingRate>,
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    pub fn new(rate: Option<PingRate>) -> Limiter {
        Limiter {
            rate,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one ping of `peer`'s bucket now, or the 429 reply.
    pub fn take(&self, peer: Option<SocketAddr>) -> Result<(), Response> {
        match peer.map(|p| p.ip().to_canonical()) {
            Some(ip) if !ip.is_loopback() => self.take_at(client(ip), Instant::now()),
            _ => Ok(()),
        }
    }

    fn take_at(&self, ip: IpAddr, now: Instant) -> Result<(), Response> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let burst = f64::from(rate.burst);
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if !clients.contains_key(&ip) && clients.len() >= MAX_CLIENTS {
            forget_one(&mut clients, rate, now);
        }
        let bucket = clients.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled = bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate.per_sec;
        bucket.tokens = refilled.min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / rate.per_sec).ceil().max(1.0);
        Err(Response::line(
            429,
            format!("too many pings from {ip}: over [serve] ping_rate ({rate}); retry in {wait}s"),
        )
        .with_header("Retry-After", wait))
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.clients.lock().map_or(0, |c| c.len())
    }
}

/// The client an address is counted as: an IPv4 address, or an IPv6 address's /64 — one
/// host is given a whole /64, and could otherwise take a fresh bucket per address.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1_u128 << 64) - 1)).into()),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Makes room for one more client: a full bucket if there is one, else the one seen
/// longest ago.
fn forget_one(clients: &mut HashMap<IpAddr, Bucket>, rate: PingRate, now: Instant) {
    let full = |b: &Bucket| {
        b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_sec >= f64::from(rate.burst)
    };
    let victim = (clients.iter().find(|(_, b)| full(b)))
        .or_else(|| clients.iter().min_by_key(|(_, b)| b.at))
        .map(|(ip, _)| *ip);
    if let Some(ip) = victim {
        clients.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(per_sec: f64, burst: u32) -> Limiter {
        Limiter::new(Some(PingRate { per_sec, burst }))
    }

    #[test]
    fn a_burst_is_taken_then_pings_at_the_rate_then_429_with_retry_after() {
        let limiter = limiter(2.0, 3);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take_at(ip, t0).is_ok());
        }
        let refused = limiter.take_at(ip, t0).unwrap_err();
        assert_eq!(refused.status, 429);
        assert_eq!(refused.headers, [("Retry-After", "1".to_owned())]);
        assert!(refused.body.contains("192.0.2.7") && refused.body.contains("2/s burst 3"));
        // Another client has its own bucket.
        assert!(limiter.take_at("192.0.2.8".parse().unwrap(), t0).is_ok());
        // Half a second refills one.
        assert!(limiter.take_at(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(
            limiter
                .take_at(ip, t0 + Duration::from_millis(500))
                .is_err()
        );
        // A long quiet spell refills the burst, no more.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.take_at(ip, later).is_ok());
        }
        assert!(limiter.take_at(ip, later).is_err());
    }

    #[test]
    fn a_slow_rate_says_how_long_to_wait() {
        let limiter = limiter(1.0 / 60.0, 1);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.take_at(ip, t0).is_ok());
        let refused = limiter
            .take_at(ip, t0 + Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(refused.headers, [("Retry-After", "30".to_owned())]);
    }

    #[test]
    fn an_ipv6_host_is_one_client_across_its_64() {
        let limiter = limiter(1.0, 2);
        for peer in ["[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:1"] {
            assert!(limiter.take(Some(peer.parse().unwrap())).is_ok(), "{peer}");
        }
        assert!(
            limiter
                .take(Some("[2001:db8:1:2::77]:1".parse().unwrap()))
                .is_err()
        );
        assert!(
            limiter
                .take(Some("[2001:db8:1:3::1]:1".parse().unwrap()))
                .is_ok()
        );
        assert!(limiter.take(Some("192.0.2.1:1".parse().unwrap())).is_ok());
    }

    #[test]
    fn loopback_and_off_are_not_held() {
        let limiter = limiter(1.0, 1);
        for peer in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            for _ in 0..10 {
                assert!(limiter.take(Some(peer.parse().unwrap())).is_ok(), "{peer}");
            }
        }
        assert!(limiter.take(None).is_ok());
        let off = Limiter::new(None);
        for _ in 0..10 {
            assert!(off.take(Some("192.0.2.1:1".parse().unwrap())).is_ok());
        }
        assert_eq!(limiter.clients() + off.clients(), 0);
    }

    #[test]
    fn a_flood_from_many_addresses_stays_within_the_cap() {
        let limiter = limiter(1.0, 2);
        let busy: IpAddr = "198.51.100.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.take_at(busy, t0).is_ok());
        assert!(limiter.take_at(busy, t0).is_ok());
        for i in 0..(MAX_CLIENTS as u32 * 2) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            // Each a little later, all within a second: none of their buckets fills.
            let at = t0 + Duration::from_micros(u64::from(i));
            assert!(limiter.take_at(ip, at).is_ok());
            assert!(limiter.clients() <= MAX_CLIENTS);
        }
        assert_eq!(limiter.clients(), MAX_CLIENTS);
    }
}
