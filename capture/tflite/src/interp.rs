//! Running a planned model: one arena, no allocation per invoke.

use crate::Error;
use crate::gemm::Epilogue;
use crate::model::{Kind, Loc, Model, Val};
use crate::ops;

/// Executes a [`Model`]. Owns the activation arena and scratch space, both
/// allocated once in [`Interpreter::new`]; [`Interpreter::invoke`] allocates
/// nothing.
/// Generic over how it holds the model: `&Model` to borrow one, `Arc<Model>` (or `Box`) to own
/// it, e.g. inside a long-lived tracker.
pub struct Interpreter<M: std::ops::Deref<Target = Model>> {
    model: M,
    arena: Vec<f32>,
    scratch: Vec<f32>,
}

fn internal() -> Error {
    Error::Internal("overlapping or misplaced tensors")
}

/// Reads a value that is not in the arena region `out`.
fn read<'a>(
    consts: &'a [Vec<f32>],
    left: &'a [f32],
    right: &'a [f32],
    out: Val,
    v: Val,
) -> Result<&'a [f32], Error> {
    match v.loc {
        Loc::Const(c) => consts.get(c).map(|c| &c[..]).ok_or_else(internal),
        Loc::Arena(off) => {
            let (Loc::Arena(o), end) = (out.loc, off + v.len) else {
                return Err(internal());
            };
            if end <= o {
                left.get(off..end).ok_or_else(internal)
            } else if off >= o + out.len {
                right
                    .get(off - o - out.len..end - o - out.len)
                    .ok_or_else(internal)
            } else {
                Err(internal())
            }
        }
        Loc::Tensor(_) => Err(internal()),
    }
}

/// Splits the arena into `N` inputs and the output.
fn io<'a, const N: usize>(
    consts: &'a [Vec<f32>],
    arena: &'a mut [f32],
    ins: &[Val],
    out: Val,
) -> Result<([&'a [f32]; N], &'a mut [f32]), Error> {
    let Loc::Arena(o) = out.loc else {
        return Err(internal());
    };
    if ins.len() < N || o + out.len > arena.len() {
        return Err(internal());
    }
    let (left, rest) = arena.split_at_mut(o);
    let (dst, right) = rest.split_at_mut(out.len);
    let (left, right): (&[f32], &[f32]) = (left, right);
    let mut srcs: [&[f32]; N] = [&[]; N];
    for (s, v) in srcs.iter_mut().zip(ins) {
        *s = read(consts, left, right, out, *v)?;
    }
    Ok((srcs, dst))
}

impl<M: std::ops::Deref<Target = Model>> Interpreter<M> {
    /// Allocates the arena the model's plan needs.
    pub fn new(model: M) -> Result<Self, Error> {
        Ok(Interpreter {
            arena: vec![0.0; model.arena_len],
            scratch: vec![0.0; model.scratch_len],
            model,
        })
    }

    /// The model this interpreter runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Input `i`, to fill before [`Interpreter::invoke`]. Panics if `i` is not
    /// an input index (see [`Model::input_count`]).
    pub fn input_mut(&mut self, i: usize) -> &mut [f32] {
        let v = self.model.inputs[i].val;
        match v.loc {
            Loc::Arena(off) => &mut self.arena[off..off + v.len],
            _ => &mut [],
        }
    }

    /// Output `i` after [`Interpreter::invoke`]. Panics if `i` is not an
    /// output index (see [`Model::output_count`]).
    pub fn output(&self, i: usize) -> &[f32] {
        let v = self.model.outputs[i].val;
        match v.loc {
            Loc::Arena(off) => &self.arena[off..off + v.len],
            Loc::Const(c) => &self.model.consts[c],
            Loc::Tensor(_) => &[],
        }
    }

    /// Shape of output `i`.
    pub fn output_shape(&self, i: usize) -> &[usize] {
        self.model.output_shape(i)
    }

    /// Names of the outputs, in order.
    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.model.output_names()
    }

    /// Runs the model on the current inputs.
    pub fn invoke(&mut self) -> Result<(), Error> {
        for i in 0..self.model.steps.len() {
            self.step(i)?;
        }
        Ok(())
    }

    /// Runs the model once, timing each step: `(step description, seconds)`.
    /// For profiling; allocates.
    #[doc(hidden)]
    pub fn profile(&mut self) -> Result<Vec<(String, f64)>, Error> {
        let mut out = Vec::new();
        for i in 0..self.model.steps.len() {
            let t = std::time::Instant::now();
            self.step(i)?;
            let dt = t.elapsed().as_secs_f64();
            let s = &self.model.steps[i];
            let label = match &s.kind {
                Kind::Conv {
                    g, residual, prelu, ..
                } => format!(
                    "conv {}x{} s{} {}x{}x{}->{}{}{}",
                    g.kh,
                    g.kw,
                    g.sh,
                    g.ih,
                    g.iw,
                    g.ic,
                    g.oc,
                    if *residual { " +res" } else { "" },
                    if prelu.is_some() { " +prelu" } else { "" }
                ),
                Kind::Depthwise { g, .. } => {
                    format!("dw {}x{} s{} {}x{}x{}", g.kh, g.kw, g.sh, g.ih, g.iw, g.ic)
                }
                k => format!("{:?}", k).chars().take(40).collect(),
            };
            out.push((label, dt));
        }
        Ok(out)
    }

    fn step(&mut self, i: usize) -> Result<(), Error> {
        let consts = &self.model.consts[..];
        {
            let step = &self.model.steps[i];
            let arena = &mut self.arena[..];
            match &step.kind {
                Kind::Conv {
                    g,
                    w,
                    bias,
                    act,
                    residual,
                    post_act,
                    prelu,
                } => {
                    let (x, res, out) = if *residual {
                        let ([x, r], out) = io::<2>(consts, arena, &step.ins, step.out)?;
                        (x, Some(r), out)
                    } else {
                        let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                        (x, None, out)
                    };
                    let ep = Epilogue {
                        bias,
                        act: *act,
                        residual: res,
                        post_act: *post_act,
                        prelu: prelu.as_deref(),
                    };
                    ops::conv2d(g, x, w, out, &mut self.scratch, &ep);
                }
                Kind::Depthwise { g, w, bias, act } => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    ops::depthwise(g, x, w, bias, *act, out);
                }
                Kind::MaxPool { g, act } => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    ops::max_pool(g, x, *act, out);
                }
                Kind::Binary { op, bc, act } => {
                    let ([a, b], out) = io::<2>(consts, arena, &step.ins, step.out)?;
                    ops::binary(*op, bc, a, b, *act, out);
                }
                Kind::Unary(act) => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    for (o, v) in out.iter_mut().zip(x) {
                        *o = act.apply(*v);
                    }
                }
                Kind::Pad {
                    in_shape,
                    out_shape,
                    before,
                } => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    ops::pad(in_shape, out_shape, before, x, out);
                }
                Kind::Copy => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    out.copy_from_slice(x);
                }
                Kind::Concat { outer, inners } => {
                    let total: usize = inners.iter().sum();
                    let mut col = 0;
                    for (v, &inner) in step.ins.iter().zip(inners) {
                        let ([x], out) = io::<1>(
                            consts,
                            &mut self.arena[..],
                            std::slice::from_ref(v),
                            step.out,
                        )?;
                        for o in 0..*outer {
                            out[o * total + col..][..inner]
                                .copy_from_slice(&x[o * inner..][..inner]);
                        }
                        col += inner;
                    }
                }
                Kind::Slice {
                    in_shape,
                    out_shape,
                    begin,
                    step: st,
                } => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    ops::strided_slice(in_shape, out_shape, begin, st, x, out);
                }
                Kind::L2tm(p) => {
                    let ([x], out) = io::<1>(consts, arena, &step.ins, step.out)?;
                    p.run(x, out);
                }
                Kind::Ttb(p) => {
                    let ([x, m], out) = io::<2>(consts, arena, &step.ins, step.out)?;
                    p.run(x, m, out);
                }
                Kind::Tl(p) => {
                    let ([x, m], out) = io::<2>(consts, arena, &step.ins, step.out)?;
                    p.run(x, m, out);
                }
            }
        }
        Ok(())
    }
}
