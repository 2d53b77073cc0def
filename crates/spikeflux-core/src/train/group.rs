//! Data parallelism over processes: which slices of a mini-batch this process runs, and the
//! exchange that sums every slice's gradient and statistics **in slice order**, so that `K`
//! processes give bit for bit the numbers of one (issue #17).
//!
//! A batch of `n` slices ([`NetworkPlan::slice_size`](crate::engine::NetworkPlan::slice_size)
//! samples each) is cut into `K` contiguous blocks; rank `r` runs slices
//! `r·n/K .. (r+1)·n/K` (a block may be empty). One process sums its slice gradients left to
//! right, `((g₀ + g₁) + g₂) + …`; floating-point addition is not associative, so a tree of partial
//! sums would not give the same bits. The ranks therefore pass one running sum along a chain:
//! rank 0 sums its block and sends the sum to rank 1, which adds its block in order and sends it
//! on; the last rank then shares the total with all. Per step that is `K − 1` messages of the
//! gradient along the chain and one broadcast of it (`P` parameters: `4P` bytes each), plus a
//! header of `6 + L` numbers (`L` hidden layers) for the statistics.
//!
//! A [`Group`] is that transport. [`Solo`] is one process (no messages: exactly the
//! single-process code path); [`LocalGroup`] runs the ranks as threads of one process, for tests
//! of the exchange without MPI; the command line's MPI group (`--features mpi`) runs them as MPI
//! processes.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

use crate::engine::SliceStats;
use crate::error::{Error, Result};

/// The ranks of a data-parallel run and the three exchanges the training loop needs. Every rank
/// must call the same exchanges in the same order.
pub trait Group: Send + Sync + std::fmt::Debug {
    /// This process's rank, `0 .. size()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Receives the running sums from rank `rank() − 1` into `head` and `grad` (both fully
    /// overwritten; `grad` may be empty when no gradient is exchanged).
    ///
    /// # Errors
    /// [`Error::Distributed`] when the previous rank is gone or the run was interrupted.
    fn recv_prev(&self, head: &mut [f64], grad: &mut [f32]) -> Result<()>;
    /// Sends the running sums to rank `rank() + 1`.
    ///
    /// # Errors
    /// As [`Group::recv_prev`].
    fn send_next(&self, head: &[f64], grad: &[f32]) -> Result<()>;
    /// The last rank's `head` and `grad` to every rank (the last rank's buffers are read, the
    /// others' overwritten).
    ///
    /// # Errors
    /// As [`Group::recv_prev`].
    fn share_from_last(&self, head: &mut [f64], grad: &mut [f32]) -> Result<()>;
    /// Whether any rank passes `true` (all ranks get the same answer): the ranks agree to stop
    /// after the same batch.
    ///
    /// # Errors
    /// As [`Group::recv_prev`].
    fn any(&self, flag: bool) -> Result<bool>;
    /// Ends this rank's part after the last exchange of a command that succeeded (MPI: finalizes,
    /// which waits for every rank). A command that fails skips it and exits, so that no rank waits
    /// for ranks that will not come; the launcher then ends the others.
    fn close(&self) {}
}

/// One process: rank 0 of 1. Never exchanges anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl Group for Solo {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn recv_prev(&self, _: &mut [f64], _: &mut [f32]) -> Result<()> {
        Err(Error::Distributed { what: "rank 0 of 1 has no previous rank".into(), hint: "a bug: report it".into() })
    }
    fn send_next(&self, _: &[f64], _: &[f32]) -> Result<()> {
        Err(Error::Distributed { what: "rank 0 of 1 has no next rank".into(), hint: "a bug: report it".into() })
    }
    fn share_from_last(&self, _: &mut [f64], _: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn any(&self, flag: bool) -> Result<bool> {
        Ok(flag)
    }
}

/// The block of slices rank `rank` of `size` runs, out of `n` slices.
pub fn block(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    (rank * n / size)..((rank + 1) * n / size)
}

/// Length of the statistics header for `layers` hidden layers: a started flag, the five sums of
/// [`SliceStats`], then the spikes per layer.
pub fn head_len(layers: usize) -> usize {
    6 + layers
}

/// Writes `started` and `s` into `head` (counts as f64: exact below 2⁵³).
pub fn pack(started: bool, s: &SliceStats, head: &mut [f64]) {
    head[0] = if started { 1.0 } else { 0.0 };
    head[1] = s.ce_sum;
    head[2] = s.reg_loss;
    head[3] = s.correct as f64;
    head[4] = s.samples as f64;
    head[5] = s.nonfinite_outputs as f64;
    // a rank that has run no slice yet holds no per-layer sums: zeros, as one process starts
    for (i, h) in head[6..].iter_mut().enumerate() {
        *h = s.spikes.get(i).copied().unwrap_or(0.0);
    }
}

/// Reads what [`pack`] wrote: `(started, stats)`.
pub fn unpack(head: &[f64]) -> (bool, SliceStats) {
    let s = SliceStats {
        ce_sum: head[1],
        reg_loss: head[2],
        correct: head[3] as usize,
        samples: head[4] as usize,
        nonfinite_outputs: head[5] as usize,
        spikes: head[6..].to_vec(),
    };
    (head[0] != 0.0, s)
}

type Message = (Vec<f64>, Vec<f32>);

/// One rank of a group whose ranks are threads of this process, joined by channels (for tests
/// and examples of the exchange; [`local_group`] makes the set).
#[derive(Debug)]
pub struct LocalGroup {
    rank: usize,
    size: usize,
    to_next: Option<Sender<Message>>,
    from_prev: Option<Mutex<Receiver<Message>>>,
    /// the last rank: one sender per other rank; the others: the receiver from the last rank
    share_out: Vec<Sender<Message>>,
    share_in: Option<Mutex<Receiver<Message>>>,
    /// flags to rank 0, and rank 0's answers to each rank
    flags_out: Option<Sender<bool>>,
    flags_in: Option<Mutex<Receiver<bool>>>,
    answers_out: Vec<Sender<bool>>,
    answer_in: Option<Mutex<Receiver<bool>>>,
}

/// `size` connected [`LocalGroup`] ranks, in rank order; move each into its own thread.
pub fn local_group(size: usize) -> Vec<LocalGroup> {
    use std::sync::mpsc::channel;
    let size = size.max(1);
    let mut ranks: Vec<LocalGroup> = (0..size)
        .map(|rank| LocalGroup {
            rank,
            size,
            to_next: None,
            from_prev: None,
            share_out: Vec::new(),
            share_in: None,
            flags_out: None,
            flags_in: None,
            answers_out: Vec::new(),
            answer_in: None,
        })
        .collect();
    for r in 0..size - 1 {
        let (tx, rx) = channel();
        ranks[r].to_next = Some(tx);
        ranks[r + 1].from_prev = Some(Mutex::new(rx));
        let (tx, rx) = channel();
        ranks[size - 1].share_out.push(tx);
        ranks[r].share_in = Some(Mutex::new(rx));
    }
    let (ftx, frx) = channel();
    ranks[0].flags_in = Some(Mutex::new(frx));
    for r in 0..size {
        ranks[r].flags_out = Some(ftx.clone());
        let (tx, rx) = channel();
        ranks[0].answers_out.push(tx);
        ranks[r].answer_in = Some(Mutex::new(rx));
    }
    ranks
}

fn gone(what: &str) -> Error {
    Error::Distributed { what: what.into(), hint: "another rank ended; see its error".into() }
}

fn take<T>(rx: &Option<Mutex<Receiver<T>>>, what: &str) -> Result<T> {
    let rx = rx.as_ref().ok_or_else(|| gone(what))?;
    let rx = rx.lock().map_err(|_| gone(what))?;
    rx.recv().map_err(|_| gone(what))
}

impl Group for LocalGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn recv_prev(&self, head: &mut [f64], grad: &mut [f32]) -> Result<()> {
        let (h, g) = take(&self.from_prev, "the previous rank's sums")?;
        head.copy_from_slice(&h);
        grad.copy_from_slice(&g);
        Ok(())
    }
    fn send_next(&self, head: &[f64], grad: &[f32]) -> Result<()> {
        let tx = self.to_next.as_ref().ok_or_else(|| gone("no next rank"))?;
        tx.send((head.to_vec(), grad.to_vec())).map_err(|_| gone("the next rank"))
    }
    fn share_from_last(&self, head: &mut [f64], grad: &mut [f32]) -> Result<()> {
        if self.rank + 1 == self.size {
            for tx in &self.share_out {
                tx.send((head.to_vec(), grad.to_vec())).map_err(|_| gone("a rank waiting for the total"))?;
            }
            Ok(())
        } else {
            let (h, g) = take(&self.share_in, "the last rank's total")?;
            head.copy_from_slice(&h);
            grad.copy_from_slice(&g);
            Ok(())
        }
    }
    fn any(&self, flag: bool) -> Result<bool> {
        let tx = self.flags_out.as_ref().ok_or_else(|| gone("rank 0"))?;
        tx.send(flag).map_err(|_| gone("rank 0"))?;
        if self.rank == 0 {
            let mut any = false;
            for _ in 0..self.size {
                any |= take(&self.flags_in, "a rank's flag")?;
            }
            for a in &self.answers_out {
                a.send(any).map_err(|_| gone("a rank waiting for the answer"))?;
            }
        }
        take(&self.answer_in, "rank 0's answer")
    }
}
