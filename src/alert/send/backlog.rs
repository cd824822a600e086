//! One target's undelivered alerts: new ones in arrival order, failed ones waiting for their
//! retry; bounded, the oldest dropped first. Pure: the clock is passed in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::RETRY_AFTER;

/// Deliveries waiting for their first attempt or their next one, at most `limit` of them
/// (one more for a moment: a failed attempt's retry is never refused, the next arrival
/// makes room). Each keeps its age: arrival order decides what is oldest, whatever its
/// attempts.
#[derive(Debug)]
pub struct Backlog<T> {
    limit: usize,
    arrived: u64,
    /// Oldest first.
    new: VecDeque<(u64, T)>,
    /// Due at, age, item.
    retries: Vec<(Instant, u64, T)>,
}

impl<T> Backlog<T> {
    /// `limit` is at least 1.
    pub fn new(limit: usize) -> Self {
        Backlog {
            limit: limit.max(1),
            arrived: 0,
            new: VecDeque::new(),
            retries: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.new.len() + self.retries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a new delivery, dropping the oldest ones waiting to keep within the limit;
    /// returns those dropped.
    pub fn push(&mut self, item: T) -> Vec<T> {
        let mut dropped = Vec::new();
        while self.len() >= self.limit {
            dropped.extend(self.take_oldest().map(|(_, item)| item));
        }
        self.new.push_back((self.arrived, item));
        self.arrived += 1;
        dropped
    }

    /// Schedules another attempt for `item`, taken from here by [`Backlog::next`] at age
    /// `age`, after its failed `attempt` (1-based) at `now`, and says how long it waits;
    /// `None` (and the item back) when its attempts are used up.
    pub fn retry(&mut self, item: T, age: u64, attempt: u32, now: Instant) -> Result<Duration, T> {
        let Some(wait) = RETRY_AFTER.get(attempt as usize - 1).copied() else {
            return Err(item);
        };
        self.retries.push((now + wait, age, item));
        Ok(wait)
    }

    /// The next delivery to attempt at `now`, with its age: a due retry (the oldest first,
    /// it has waited longest), else the oldest new one.
    pub fn next(&mut self, now: Instant) -> Option<(u64, T)> {
        let due = self
            .retries
            .iter()
            .enumerate()
            .filter(|(_, (at, _, _))| *at <= now)
            .min_by_key(|(_, (_, age, _))| *age)
            .map(|(i, _)| i);
        match due {
            Some(i) => {
                let (_, age, item) = self.retries.swap_remove(i);
                Some((age, item))
            }
            None => self.new.pop_front(),
        }
    }

    /// When the next retry is due, if one waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.retries.iter().map(|(at, _, _)| *at).min()
    }

    /// The oldest delivery, due or not (at the stop, where nothing waits for its retry).
    pub fn take_oldest(&mut self) -> Option<(u64, T)> {
        let retry = self
            .retries
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, age, _))| *age)
            .map(|(i, (_, age, _))| (i, *age));
        match (retry, self.new.front()) {
            (Some((i, age)), front) if front.is_none_or(|(new, _)| age < *new) => {
                let (_, age, item) = self.retries.swap_remove(i);
                Some((age, item))
            }
            _ => self.new.pop_front(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_give_up() {
        let start = Instant::now();
        let mut backlog = Backlog::new(10);
        let waits: Vec<_> = (1..=4)
            .map(|n| backlog.retry(n, u64::from(n), n, start))
            .collect();
        assert_eq!(
            waits,
            [
                Ok(RETRY_AFTER[0]),
                Ok(RETRY_AFTER[1]),
                Ok(RETRY_AFTER[2]),
                Err(4)
            ]
        );
        assert_eq!(backlog.next_due(), Some(start + RETRY_AFTER[0]));
        assert_eq!(backlog.next(start), None);
        let later = start + RETRY_AFTER[1];
        assert_eq!(backlog.next(later), Some((1, 1)));
        assert_eq!(backlog.next(later), Some((2, 2)));
        assert_eq!(backlog.next(later), None);
        assert_eq!(backlog.next_due(), Some(start + RETRY_AFTER[2]));
    }

    #[test]
    fn new_deliveries_go_in_arrival_order_after_due_retries() {
        let now = Instant::now();
        let mut backlog = Backlog::new(10);
        assert!(backlog.push('a').is_empty());
        assert!(backlog.push('b').is_empty());
        let (age, a) = backlog.next(now).unwrap();
        assert_eq!((age, a), (0, 'a'));
        backlog.retry(a, age, 1, now).unwrap();
        backlog.push('c');
        // 'a' waits for its retry: the new ones go meanwhile.
        assert_eq!(backlog.next(now), Some((1, 'b')));
        let due = now + RETRY_AFTER[0];
        assert_eq!(backlog.next(due), Some((0, 'a')));
        assert_eq!(backlog.next(due), Some((2, 'c')));
        assert!(backlog.is_empty());
    }

    #[test]
    fn a_full_backlog_drops_the_oldest_whether_new_or_retrying() {
        let now = Instant::now();
        let mut backlog = Backlog::new(3);
        for item in ['a', 'b', 'c'] {
            assert!(backlog.push(item).is_empty());
        }
        assert_eq!(backlog.push('d'), ['a']);
        assert_eq!(backlog.len(), 3);
        // 'b' fails and waits for its retry; it is still the oldest.
        let (age, b) = backlog.next(now).unwrap();
        assert_eq!(backlog.push('e'), Vec::<char>::new());
        backlog.retry(b, age, 1, now).unwrap();
        // A retry is never refused: one over the limit until the next arrival.
        assert_eq!(backlog.len(), 4);
        assert_eq!(backlog.push('f'), ['b', 'c']);
        assert_eq!(backlog.len(), 3);
        let order: Vec<char> = std::iter::from_fn(|| backlog.take_oldest())
            .map(|(_, item)| item)
            .collect();
        assert_eq!(order, ['d', 'e', 'f']);
    }

    #[test]
    fn at_the_stop_everything_comes_out_oldest_first_due_or_not() {
        let now = Instant::now();
        let mut backlog = Backlog::new(10);
        backlog.push('a');
        backlog.push('b');
        let (age, a) = backlog.next(now).unwrap();
        backlog.retry(a, age, 3, now).unwrap();
        backlog.push('c');
        let order: Vec<(u64, char)> = std::iter::from_fn(|| backlog.take_oldest()).collect();
        assert_eq!(order, [(0, 'a'), (1, 'b'), (2, 'c')]);
        assert_eq!(backlog.next_due(), None);
    }
}
