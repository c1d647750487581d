//! The Performer → Marionette messages of the VMC protocol (V3.1), typed, still in Unity space.
//!
//! Extra trailing arguments are ignored, as the specification asks; too few arguments or wrong
//! types are an [`ArgumentError`]. Addresses Kagura does not use parse to [`VmcMessage::Other`].

use glam::{Quat, Vec3};
use rosc::{OscMessage, OscType};

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
    pub fn parse(message: &'a OscMessage) -> Result<Self, ArgumentError> {
        let args = Args(&message.args);
        let bad = |expected| ArgumentError {
            address: message.addr.clone(),
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
        match message.addr.as_str() {
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

/// Typed access to positional OSC arguments.
struct Args<'a>(&'a [OscType]);

impl<'a> Args<'a> {
    fn float(&self, i: usize) -> Option<f32> {
        match self.0.get(i)? {
            OscType::Float(f) => Some(*f),
            OscType::Double(d) => Some(*d as f32),
            _ => None,
        }
    }

    fn int(&self, i: usize) -> Option<i32> {
        match self.0.get(i)? {
            OscType::Int(v) => Some(*v),
            _ => None,
        }
    }

    fn string(&self, i: usize) -> Option<&'a str> {
        match self.0.get(i)? {
            OscType::String(s) => Some(s),
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

    fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
        OscMessage {
            addr: addr.into(),
            args,
        }
    }

    #[test]
    fn bone_with_extra_arguments_parses_and_short_one_is_an_error() {
        let mut args = vec![OscType::String("Head".into())];
        args.extend((0..7).map(|i| OscType::Float(i as f32)));
        args.push(OscType::Int(99));
        let m = msg("/VMC/Ext/Bone/Pos", args.clone());
        assert!(matches!(
            VmcMessage::parse(&m),
            Ok(VmcMessage::Bone { name: "Head", .. })
        ));
        args.truncate(5);
        let m = msg("/VMC/Ext/Bone/Pos", args);
        assert!(VmcMessage::parse(&m).is_err());
    }

    #[test]
    fn ok_takes_optional_extras_and_unknown_addresses_are_other() {
        let m = msg("/VMC/Ext/OK", vec![OscType::Int(1), OscType::Int(3)]);
        assert_eq!(
            VmcMessage::parse(&m),
            Ok(VmcMessage::Ok {
                loaded: true,
                calibration_state: Some(3),
                calibration_mode: None,
                tracking: None
            })
        );
        let m = msg("/VMC/Thru/Foo", vec![]);
        assert_eq!(VmcMessage::parse(&m), Ok(VmcMessage::Other));
    }
}
