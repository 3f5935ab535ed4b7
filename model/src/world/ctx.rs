//! A CPU's view of the world ([`Ctx`]) and [`run_cpus`], which runs one program per CPU and
//! joins them (RCU callback runners included) before the final-state oracles.

use super::*;

/// A CPU's program: what it runs from the start of the execution to its end.
pub type Program = Box<dyn FnOnce(&Ctx) + Send>;

/// Run one program per CPU: CPU0 on the explorer's main thread (one model thread fewer, which
/// is what loom's cost depends on), the others on spawned threads; then join every thread,
/// RCU callback runners included, so that the final-state oracles see a quiescent machine.
pub fn run_cpus(world: &Arc<World>, programs: Vec<Program>) {
    let mut progs = programs.into_iter().enumerate();
    let first = progs.next();
    // The handles go in a recycled vector of the shadow ([`super::pool`]), taken out while
    // joining (a join is a scheduling point: other threads use the shadow meanwhile).
    let mut handles = std::mem::take(&mut world.shadow().cpu_threads);
    handles.extend(progs.map(|(n, p)| {
        let ctx = Ctx::cpu(world, n);
        rt::spawn(move || {
            p(&ctx);
            ctx.world.cpu_finished(n);
        })
    }));
    if let Some((_, p)) = first {
        p(&Ctx::cpu(world, 0));
        world.cpu_finished(0);
    }
    for h in handles.drain(..) {
        h.join();
    }
    world.shadow().cpu_threads = handles;
    world.join_all();
}

/// A thread of the execution acting on the world: a CPU or an RCU callback.
#[derive(Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub world: Arc<World>,
}

impl Ctx {
    pub fn cpu(world: &Arc<World>, n: usize) -> Ctx {
        Ctx {
            actor: Actor::Cpu(n),
            world: world.clone(),
        }
    }

    /// The CPU number; panics for an RCU callback (a model bug: callbacks have no CPU state).
    pub fn cpu_id(&self) -> usize {
        match self.actor {
            Actor::Cpu(n) => n,
            a => panic!("{a} is not a CPU"),
        }
    }

    /// Whether this CPU is in an irq-off section, for reports of where it waits.
    pub(crate) fn irqs_off(&self) -> bool {
        matches!(self.actor, Actor::Cpu(n) if self.world.depth(n, false) > 0)
    }

    /// Record a step that touches no shared state (a decision, a bail-out).
    pub fn note(&self, func: &'static str, what: impl Into<What>) {
        trace::record(self.actor, func, what);
    }

    /// [`Ctx::note`] of a step built only if the trace is recording ([`trace::set_recording`]).
    pub fn note_with(&self, func: &'static str, what: impl FnOnce() -> What) {
        trace::record_with(self.actor, func, || (what(), None));
    }

    pub fn load(&self, t: FrameId, slot: usize, o: Ordering, func: &'static str) -> Entry {
        self.world.load(self.actor, t, slot, o, func)
    }

    pub fn store(&self, t: FrameId, slot: usize, e: Entry, o: Ordering, func: &'static str) {
        self.world.store(self.actor, t, slot, e, o, func)
    }

    pub fn exchange(
        &self,
        t: FrameId,
        slot: usize,
        e: Entry,
        full: bool,
        func: &'static str,
    ) -> Entry {
        self.world.exchange(self.actor, t, slot, e, full, func)
    }

    pub fn free(&self, f: FrameId, func: &'static str) {
        self.world.free(self.actor, f, func)
    }

    pub fn guard(&self, g: Guards) -> bool {
        self.world.guard(g)
    }

    /// [`World::guard_check`].
    pub fn guard_check(&self, g: Guards) -> bool {
        self.world.guard_check(g)
    }

    /// [`World::guarded_state`].
    pub fn guarded_state(&self, g: Guards, write: bool) {
        self.world.guarded_state(g, write)
    }

    /// [`World::load_field`].
    pub fn load_field(
        &self,
        o: FrameId,
        slot: usize,
        field: &'static str,
        ord: Ordering,
        func: &'static str,
    ) -> u64 {
        self.world.load_field(self.actor, o, slot, field, ord, func)
    }

    /// [`World::store_field`].
    pub fn store_field(
        &self,
        o: FrameId,
        slot: usize,
        field: &'static str,
        v: u64,
        ord: Ordering,
        func: &'static str,
    ) {
        self.world
            .store_field(self.actor, o, slot, field, v, ord, func)
    }
}
