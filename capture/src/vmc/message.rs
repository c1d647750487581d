//! The Performer → Marionette messages of the VMC protocol (V3.1), typed, still in Unity space.
//!
//! Extra trailing arguments are ignored, as the specification asks; too few arguments or wrong
//! types are an [`ArgumentError`]. Addresses Kagura does not use parse to [`VmcMessage::Other`].

use super::osc::{OscArg, OscMessageRef};
use glam::{Quat, Vec3};

/// One VMC message. Positions are metres and rotations quaternions, both in Unity space.
#[derive(Clone, Debug, PartialEq)]
pub enum VmcMessage<'a> {
    /// `/VMC/Ext/OK`: the sender's avatar is loaded (1) or not (0); calibration and tracking
    /// state since V2.5/V2.7.
    Ok {
        loaded: bool,
        calibration_state: Option<i32>,
        calibration_mode: Option<i32>,
        tracking: Option<bool>,
    },
    /// `/VMC/Ext/T`: the sender's own clock, seconds.
    Time(f32),
    /// `/VMC/Ext/Root/Pos`: the avatar root. MR scale/offset arguments (V2.1) are ignored.
    Root { position: Vec3, rotation: Quat },
    /// `/VMC/Ext/Bone/Pos`: a humanoid bone's local transform, by Unity `HumanBodyBones` name.
    Bone {
        name: &'a str,
        position: Vec3,
        rotation: Quat,
    },
    /// `/VMC/Ext/Blend/Val`: a blendshape value, applied at the next `Apply`.
    BlendValue { name: &'a str, value: f32 },
    /// `/VMC/Ext/Blend/Apply`: the blendshape values sent so far take effect.
    BlendApply,
    /// `/VMC/Ext/{Hmd,Con,Tra}/Pos` and their `/Local` forms: a tracked device.
    Device {
        kind: DeviceKind,
        local: bool,
        serial: &'a str,
        position: Vec3,
        rotation: Quat,
    },
    /// A valid OSC message at an address Kagura does not use (`/VMC/Ext/Cam`, `/VMC/Thru/…`, …).
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Hmd,
    Controller,
    Tracker,
}

/// A known address with too few arguments or arguments of the wrong type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{address}: expected arguments {expected}")]
pub struct ArgumentError {
    pub address: String,
    pub expected: &'static str,
}

impl<'a> VmcMessage<'a> {
    /// Types one OSC message.
    pub fn parse(message: &OscMessageRef<'a>) -> Result<Self, ArgumentError> {
        let args = Args::of(message);
        let bad = |expected| ArgumentError {
            address: message.address.to_string(),
            expected,
        };
        let device = |kind, local| {
            let (serial, position, rotation) = args.transform(0).ok_or_else(|| bad("s f×7"))?;
            Ok(VmcMessage::Device {
                kind,
                local,
                serial,
                position,
                rotation,
            })
        };
        match message.address {
            "/VMC/Ext/OK" => Ok(VmcMessage::Ok {
                loaded: args.int(0).ok_or_else(|| bad("i [i i i]"))? != 0,
                calibration_state: args.int(1),
                calibration_mode: args.int(2),
                tracking: args.int(3).map(|t| t != 0),
            }),
            "/VMC/Ext/T" => Ok(VmcMessage::Time(args.float(0).ok_or_else(|| bad("f"))?)),
            "/VMC/Ext/Root/Pos" => {
                let (_, position, rotation) = args.transform(0).ok_or_else(|| bad("s f×7"))?;
                Ok(VmcMessage::Root { position, rotation })
            }
            "/VMC/Ext/Bone/Pos" => {
                let (name, position, rotation) = args.transform(0).ok_or_else(|| bad("s f×7"))?;
                Ok(VmcMessage::Bone {
                    name,
                    position,
                    rotation,
                })
            }
            "/VMC/Ext/Blend/Val" => Ok(VmcMessage::BlendValue {
                name: args.string(0).ok_or_else(|| bad("s f"))?,
                value: args.float(1).ok_or_else(|| bad("s f"))?,
            }),
            "/VMC/Ext/Blend/Apply" => Ok(VmcMessage::BlendApply),
            "/VMC/Ext/Hmd/Pos" => device(DeviceKind::Hmd, false),
            "/VMC/Ext/Con/Pos" => device(DeviceKind::Controller, false),
            "/VMC/Ext/Tra/Pos" => device(DeviceKind::Tracker, false),
            "/VMC/Ext/Hmd/Pos/Local" => device(DeviceKind::Hmd, true),
            "/VMC/Ext/Con/Pos/Local" => device(DeviceKind::Controller, true),
            "/VMC/Ext/Tra/Pos/Local" => device(DeviceKind::Tracker, true),
            _ => Ok(VmcMessage::Other),
        }
    }
}

/// How many leading arguments are looked at: VMC's longest message has 8 (extras ignored).
const MAX_ARGS: usize = 12;

/// Typed access to positional OSC arguments (the first [`MAX_ARGS`]).
struct Args<'a>([Option<OscArg<'a>>; MAX_ARGS]);

impl<'a> Args<'a> {
    fn of(message: &OscMessageRef<'a>) -> Self {
        let mut args = [None; MAX_ARGS];
        for (slot, arg) in args.iter_mut().zip(message.args()) {
            *slot = Some(arg);
        }
        Args(args)
    }

    fn get(&self, i: usize) -> Option<OscArg<'a>> {
        *self.0.get(i)?
    }

    fn float(&self, i: usize) -> Option<f32> {
        match self.get(i)? {
            OscArg::Float(f) => Some(f),
            OscArg::Double(d) => Some(d as f32),
            _ => None,
        }
    }

    fn int(&self, i: usize) -> Option<i32> {
        match self.get(i)? {
            OscArg::Int(v) => Some(v),
            _ => None,
        }
    }

    fn string(&self, i: usize) -> Option<&'a str> {
        match self.get(i)? {
            OscArg::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `s name, f px py pz, f qx qy qz qw` starting at argument `i`.
    fn transform(&self, i: usize) -> Option<(&'a str, Vec3, Quat)> {
        let f = |k| self.float(i + 1 + k);
        Some((
            self.string(i)?,
            Vec3::new(f(0)?, f(1)?, f(2)?),
            Quat::from_xyzw(f(3)?, f(4)?, f(5)?, f(6)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{OscMessage, OscPacket, OscType, encoder};

    /// Parses `addr` with `args` as it would arrive: encoded, then read in place.
    fn parsed(addr: &str, args: Vec<OscType>) -> Result<VmcMessage<'static>, ArgumentError> {
        let bytes = encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        }))
        .unwrap();
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let mut out = None;
        crate::vmc::osc::read_packet(bytes, |m| out = Some(VmcMessage::parse(&m))).unwrap();
        out.unwrap()
    }

    #[test]
    fn bone_with_extra_arguments_parses_and_short_one_is_an_error() {
        let mut args = vec![OscType::String("Head".into())];
        args.extend((0..7).map(|i| OscType::Float(i as f32)));
        args.push(OscType::Int(99));
        assert!(matches!(
            parsed("/VMC/Ext/Bone/Pos", args.clone()),
            Ok(VmcMessage::Bone { name: "Head", .. })
        ));
        args.truncate(5);
        assert!(parsed("/VMC/Ext/Bone/Pos", args).is_err());
    }

    #[test]
    fn ok_takes_optional_extras_and_unknown_addresses_are_other() {
        assert_eq!(
            parsed("/VMC/Ext/OK", vec![OscType::Int(1), OscType::Int(3)]),
            Ok(VmcMessage::Ok {
                loaded: true,
                calibration_state: Some(3),
                calibration_mode: None,
                tracking: None
            })
        );
        assert_eq!(parsed("/VMC/Thru/Foo", vec![]), Ok(VmcMessage::Other));
    }
}
