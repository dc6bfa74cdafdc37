//! Derived views: per-stream transforms of every written unit (e.g. RTP re-packetized for
//! a smaller MTU, FLV tags, MPEG-TS packets), computed once by the writer and shared by
//! every reader that asked for the same key.

use std::any::{Any, TypeId};
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

use crate::stream::Track;
use crate::unit::Unit;

/// A transform run by the stream's writer on every written unit.
pub trait View: Send + 'static {
    /// Identifies one instance of the view on a stream (e.g. track and MTU).
    type Key: Hash + Eq + Clone + Debug + Send + Sync + 'static;
    /// What the view attaches to each unit. Readers get `&Output` from [`Unit::view`].
    type Output: Send + Sync + 'static;

    /// Creates the view for a stream with the given tracks.
    fn new(key: &Self::Key, tracks: &[Track]) -> Self;

    /// Computes the view of one unit; `None` when the unit has nothing for this view (e.g.
    /// another track). `tracks` are the stream's tracks as described now, with the latest
    /// in-band parameter sets.
    fn transform(&mut self, unit: &Unit, tracks: &[Track]) -> Option<Self::Output>;
}

/// A reader's ticket to a registered view. While at least one handle (or a clone) is
/// alive, the writer runs the view's transform on every unit.
pub struct ViewHandle<V> {
    index: usize,
    _alive: Arc<()>,
    _view: PhantomData<fn() -> V>,
}

impl<V> ViewHandle<V> {
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

impl<V> Clone for ViewHandle<V> {
    fn clone(&self) -> Self {
        ViewHandle {
            index: self.index,
            _alive: Arc::clone(&self._alive),
            _view: PhantomData,
        }
    }
}

impl<V> Debug for ViewHandle<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewHandle")
            .field("index", &self.index)
            .finish()
    }
}

trait ErasedView: Send {
    fn run(&mut self, unit: &Unit, tracks: &[Track]) -> Option<Arc<dyn Any + Send + Sync>>;
    fn key(&self) -> &(dyn Any + Send + Sync);
}

struct Erased<V: View> {
    key: V::Key,
    view: V,
}

impl<V: View> ErasedView for Erased<V> {
    fn run(&mut self, unit: &Unit, tracks: &[Track]) -> Option<Arc<dyn Any + Send + Sync>> {
        self.view
            .transform(unit, tracks)
            .map(|out| Arc::new(out) as Arc<dyn Any + Send + Sync>)
    }

    fn key(&self) -> &(dyn Any + Send + Sync) {
        &self.key
    }
}

struct Registration {
    type_id: TypeId,
    alive: Weak<()>,
    /// `None` once nobody holds a handle: the view's state is dropped at the next write,
    /// so a view that costs memory or holds resources (a transcoder) stops with its last
    /// reader.
    view: Option<Box<dyn ErasedView>>,
}

/// The views registered on one stream; owned by the stream's writer state.
#[derive(Default)]
pub(crate) struct ViewSet {
    regs: Vec<Registration>,
}

impl ViewSet {
    /// Returns a handle to the view with this key, creating it if no live one exists.
    pub(crate) fn register<V: View>(&mut self, key: V::Key, tracks: &[Track]) -> ViewHandle<V> {
        let type_id = TypeId::of::<V>();
        let found = self.regs.iter().position(|r| {
            r.type_id == type_id
                && r.view
                    .as_ref()
                    .is_some_and(|v| v.key().downcast_ref::<V::Key>() == Some(&key))
        });
        if let Some(index) = found
            && let Some(alive) = self.regs[index].alive.upgrade()
        {
            return ViewHandle {
                index,
                _alive: alive,
                _view: PhantomData,
            };
        }
        let alive = Arc::new(());
        let reg = Registration {
            type_id,
            alive: Arc::downgrade(&alive),
            view: Some(Box::new(Erased::<V> {
                view: V::new(&key, tracks),
                key,
            })),
        };
        // Reuse the slot of a view nobody holds any more.
        let index =
            match found.or_else(|| self.regs.iter().position(|r| r.alive.strong_count() == 0)) {
                Some(index) => {
                    self.regs[index] = reg;
                    index
                }
                None => {
                    self.regs.push(reg);
                    self.regs.len() - 1
                }
            };
        ViewHandle {
            index,
            _alive: alive,
            _view: PhantomData,
        }
    }

    /// Runs every live view on a unit about to be written and stores the outputs in it.
    pub(crate) fn apply(&mut self, unit: &mut Unit, tracks: &[Track]) {
        if self.regs.is_empty() {
            return;
        }
        let mut slots = Vec::with_capacity(self.regs.len());
        for reg in &mut self.regs {
            match &mut reg.view {
                Some(view) if reg.alive.strong_count() > 0 => slots.push(view.run(unit, tracks)),
                _ => {
                    reg.view = None;
                    slots.push(None);
                }
            }
        }
        unit.views.slots = slots;
    }
}
