//! Which data-parallel group this process belongs to: one process ([`Solo`]), or a rank of an
//! MPI job (`mpirun -np K spikeflux train …`, built with `--features mpi`; README,
//! "Training on several processes").
//!
//! MPI is used only when the launcher says so (OpenMPI's `OMPI_COMM_WORLD_SIZE`, or `PMI_SIZE` /
//! `PMIX_RANK` of MPICH, Slurm and PMIx launchers), so a plain `spikeflux train` never starts MPI.
//!
//! The MPI calls all run on one communication thread that owns the MPI universe
//! (`MPI_THREAD_FUNNELED`); the training thread hands it buffers and waits on a channel, checking
//! for an interrupt ten times a second. So Ctrl-C, or the SIGTERM `mpirun` sends when another rank
//! dies, reaches a rank even while it waits for a message that will never come: the exchange
//! fails with [`Error::Distributed`], rank 0 writes its checkpoint (the state before the batch
//! under way) and the run ends with the command that resumes it. MPI is finalized only after a
//! command succeeded ([`Group::close`]); a rank whose command fails exits without waiting for the
//! others, and the launcher ends them.

use std::sync::Arc;

use anyhow::Result;
use spikeflux_core::train::{Group, Solo};
#[cfg(not(feature = "mpi"))]
use spikeflux_core::Error;

/// Environment variables with which launchers give a process its MPI rank and size.
const LAUNCHER_VARS: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];

/// Whether an MPI launcher started this process.
pub fn launched_by_mpi() -> bool {
    LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some())
}

/// The launcher's world size, where it says (1 where it does not).
pub fn launcher_size() -> usize {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].iter().filter_map(|v| std::env::var(v).ok()?.parse().ok()).next().unwrap_or(1)
}

/// The group of this process: MPI's world under an MPI launcher, else one process.
///
/// # Errors
/// Under a launcher of more than one process in a build without MPI, a config error saying how to
/// build it; [`Error::Distributed`] when MPI does not start.
pub fn group() -> Result<Arc<dyn Group>> {
    if !launched_by_mpi() {
        return Ok(Arc::new(Solo));
    }
    #[cfg(feature = "mpi")]
    {
        let g = mpi_group::MpiGroup::start()?;
        if g.size() == 1 {
            return Ok(Arc::new(Solo));
        }
        Ok(Arc::new(g))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let k = launcher_size();
        if k > 1 {
            return Err(Error::config(
                "mpirun",
                format!("this spikeflux was built without MPI but was started as one of {k} MPI processes; build it with `cargo build --release -p spikeflux-cli --features mpi` (needs an MPI library: apt-get install libopenmpi-dev libclang-dev)"),
            )
            .into());
        }
        Ok(Arc::new(Solo))
    }
}

/// Removes the launcher's variables from a child command, so that a `spikeflux train` started by
/// a rank (`spikeflux sweep` under MPI) runs as one process of its own.
pub fn detach(cmd: &mut std::process::Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("OMPI_") || k.starts_with("PMI_") || k.starts_with("PMIX_") || k.starts_with("OPAL_") || k.starts_with("PRTE_") {
            cmd.env_remove(k);
        }
    }
}

#[cfg(feature = "mpi")]
mod mpi_group {
    use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
    use std::sync::Mutex;
    use std::time::Duration;

    use mpi::collective::SystemOperation;
    use mpi::traits::*;
    use spikeflux_core::train::Group;
    use spikeflux_core::Error;

    use crate::interrupt;

    enum Cmd {
        RecvPrev(Vec<f64>, Vec<f32>),
        SendNext(Vec<f64>, Vec<f32>),
        Share(Vec<f64>, Vec<f32>),
        Any(bool),
        Finish,
    }

    enum Reply {
        Buffers(Vec<f64>, Vec<f32>),
        Flag(bool),
    }

    /// A rank of `MPI_COMM_WORLD`, its MPI calls made by a communication thread.
    #[derive(Debug)]
    pub struct MpiGroup {
        rank: usize,
        size: usize,
        link: Mutex<Link>,
    }

    #[derive(Debug)]
    struct Link {
        tx: Sender<Cmd>,
        rx: Receiver<Reply>,
        /// set once an exchange failed: the communication thread may be stuck in MPI
        broken: Option<String>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl MpiGroup {
        /// Starts MPI on a new communication thread.
        pub fn start() -> Result<Self, Error> {
            let (tx, crx) = channel::<Cmd>();
            let (ctx, rx) = channel::<Reply>();
            let (itx, irx) = channel::<Option<(usize, usize)>>();
            let thread = std::thread::Builder::new()
                .name("mpi".into())
                .spawn(move || comm_thread(crx, ctx, itx))
                .map_err(|e| Error::Distributed { what: format!("cannot start the MPI thread: {e}"), hint: "check the process limits".into() })?;
            let Ok(Some((rank, size))) = irx.recv() else {
                return Err(Error::Distributed {
                    what: "MPI did not initialize".into(),
                    hint: "check the MPI installation (mpirun --version) and that spikeflux was built against the same MPI".into(),
                });
            };
            Ok(MpiGroup { rank, size, link: Mutex::new(Link { tx, rx, broken: None, thread: Some(thread) }) })
        }

        fn call(&self, cmd: Cmd, waiting_for: &str) -> Result<Reply, Error> {
            let mut link = self.link.lock().map_err(|_| Error::Distributed { what: "the MPI link is poisoned".into(), hint: "a bug: report it".into() })?;
            if let Some(b) = &link.broken {
                return Err(Error::Distributed { what: format!("rank {}: an earlier exchange failed ({b})", self.rank), hint: "the run cannot go on".into() });
            }
            let fail = |link: &mut Link, what: String| {
                link.broken = Some(what.clone());
                Error::Distributed {
                    what: format!("rank {} of {}: {what}", self.rank, self.size),
                    hint: "another rank stopped or died (mpirun names it), or the run was interrupted; rank 0 keeps the last consistent state in its checkpoint".into(),
                }
            };
            if link.tx.send(cmd).is_err() {
                return Err(fail(&mut link, "the MPI thread has ended".into()));
            }
            loop {
                match link.rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(r) => return Ok(r),
                    Err(RecvTimeoutError::Disconnected) => return Err(fail(&mut link, "the MPI thread has ended".into())),
                    Err(RecvTimeoutError::Timeout) => {
                        if interrupt::requested() {
                            return Err(fail(&mut link, format!("interrupted while waiting for {waiting_for}")));
                        }
                    }
                }
            }
        }
    }

    impl Group for MpiGroup {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn recv_prev(&self, head: &mut [f64], grad: &mut [f32]) -> Result<(), Error> {
            let what = format!("rank {}'s sums", self.rank - 1);
            match self.call(Cmd::RecvPrev(vec![0.0; head.len()], vec![0.0; grad.len()]), &what)? {
                Reply::Buffers(h, g) => {
                    head.copy_from_slice(&h);
                    grad.copy_from_slice(&g);
                    Ok(())
                }
                Reply::Flag(_) => unreachable!("a receive answers with buffers"),
            }
        }
        fn send_next(&self, head: &[f64], grad: &[f32]) -> Result<(), Error> {
            let what = format!("rank {} to take the sums", self.rank + 1);
            self.call(Cmd::SendNext(head.to_vec(), grad.to_vec()), &what).map(|_| ())
        }
        fn share_from_last(&self, head: &mut [f64], grad: &mut [f32]) -> Result<(), Error> {
            let what = format!("the total from rank {}", self.size - 1);
            match self.call(Cmd::Share(head.to_vec(), grad.to_vec()), &what)? {
                Reply::Buffers(h, g) => {
                    head.copy_from_slice(&h);
                    grad.copy_from_slice(&g);
                    Ok(())
                }
                Reply::Flag(_) => unreachable!("a broadcast answers with buffers"),
            }
        }
        fn any(&self, flag: bool) -> Result<bool, Error> {
            match self.call(Cmd::Any(flag), "the other ranks to finish the batch")? {
                Reply::Flag(f) => Ok(f),
                Reply::Buffers(..) => unreachable!("a vote answers with a flag"),
            }
        }
        /// Finalizes MPI (on the communication thread) unless an exchange failed, when that thread
        /// may be blocked in MPI; then, and when a command fails before this, the process ends
        /// without finalizing and `mpirun` ends the other ranks.
        fn close(&self) {
            if let Ok(mut link) = self.link.lock() {
                if link.broken.is_none() && link.tx.send(Cmd::Finish).is_ok() {
                    if let Some(t) = link.thread.take() {
                        let _ = t.join();
                    }
                }
                link.broken = Some("closed".into());
            }
        }
    }

    /// Tags of the two messages of a hop.
    const TAG_HEAD: i32 = 1;
    const TAG_GRAD: i32 = 2;

    fn comm_thread(rx: Receiver<Cmd>, tx: Sender<Reply>, init: Sender<Option<(usize, usize)>>) {
        let Some((universe, _)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
            let _ = init.send(None);
            return;
        };
        let world = universe.world();
        let (rank, size) = (world.rank(), world.size());
        if init.send(Some((rank as usize, size as usize))).is_err() {
            return;
        }
        while let Ok(cmd) = rx.recv() {
            let reply = match cmd {
                Cmd::RecvPrev(mut h, mut g) => {
                    let p = world.process_at_rank(rank - 1);
                    p.receive_into_with_tag(&mut h[..], TAG_HEAD);
                    if !g.is_empty() {
                        p.receive_into_with_tag(&mut g[..], TAG_GRAD);
                    }
                    Reply::Buffers(h, g)
                }
                Cmd::SendNext(h, g) => {
                    let p = world.process_at_rank(rank + 1);
                    p.send_with_tag(&h[..], TAG_HEAD);
                    if !g.is_empty() {
                        p.send_with_tag(&g[..], TAG_GRAD);
                    }
                    Reply::Buffers(h, g)
                }
                Cmd::Share(mut h, mut g) => {
                    let root = world.process_at_rank(size - 1);
                    root.broadcast_into(&mut h[..]);
                    if !g.is_empty() {
                        root.broadcast_into(&mut g[..]);
                    }
                    Reply::Buffers(h, g)
                }
                Cmd::Any(f) => {
                    let mine = i32::from(f);
                    let mut any = 0i32;
                    world.all_reduce_into(&mine, &mut any, SystemOperation::max());
                    Reply::Flag(any != 0)
                }
                Cmd::Finish => break,
            };
            if tx.send(reply).is_err() {
                break;
            }
        }
        drop(universe);
    }
}
