//! Every kind of source, registered in one place: the `[[source]]` config entry's `kind` picks
//! one. Adding a kind is one module with a config type implementing [`SourceKindSpec`] and one
//! line in [`source_kinds!`] below.

use kagura_filter::FilterSettings;
use serde::Deserialize;

use crate::source::{BuildEnv, Source, SourceIo, SourceKindSpec};

macro_rules! source_kinds {
    ($($variant:ident => $config:ty),* $(,)?) => {
        /// One `[[source]]` entry of the config, tagged by `kind`.
        #[derive(Clone, Debug, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum SourceConfig {
            $($variant($config),)*
        }

        impl SourceConfig {
            /// The kind's name (`vmc`).
            pub fn kind(&self) -> &'static str {
                match self { $(SourceConfig::$variant(_) => <$config as SourceKindSpec>::KIND,)* }
            }

            pub fn io(&self) -> SourceIo {
                match self { $(SourceConfig::$variant(c) => c.io(),)* }
            }

            /// The performers this entry names, in order.
            pub fn performers(&self) -> Vec<String> {
                match self { $(SourceConfig::$variant(c) => c.performers(),)* }
            }

            pub fn build(&self, env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
                match self { $(SourceConfig::$variant(c) => c.build(env),)* }
            }
        }

        /// Every kind's name and filter preset, in registration order.
        pub fn source_kinds() -> Vec<(&'static str, FilterSettings)> {
            vec![$((<$config as SourceKindSpec>::KIND, <$config as SourceKindSpec>::filter_preset()),)*]
        }
    };
}

source_kinds! {
    Vmc => crate::vmc::VmcConfig,
    Bvh => crate::bvh::BvhConfig,
    Demo => crate::demo::DemoConfig,
    Webcam => crate::webcam::WebcamConfig,
    Ifacialmocap => crate::ifacialmocap::IFacialMocapConfig,
    VtubeStudio => crate::vtube_studio::VtubeStudioConfig,
    Openseeface => crate::openseeface::OpenSeeFaceConfig,
    Slimevr => crate::slimevr::SlimeVrConfig,
    Neuron => crate::neuron::NeuronConfig,
    Mocopi => crate::mocopi::MocopiConfig,
    Rokoko => crate::rokoko::RokokoConfig,
    Xsens => crate::xsens::XsensConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_named_as_in_the_config_and_has_a_valid_preset() {
        for (kind, preset) in source_kinds() {
            let entry: Result<SourceConfig, _> = toml::from_str(&format!("kind = {kind:?}"));
            // Missing fields, but the tag itself must be known.
            if let Err(e) = entry {
                assert!(!e.to_string().contains("unknown variant"), "{kind}: {e}");
            }
            preset.validate().unwrap();
        }
        let demo: SourceConfig = toml::from_str("kind = \"demo\"\nperformer = \"d\"").unwrap();
        assert_eq!(demo.kind(), "demo");
        assert_eq!(demo.io(), SourceIo::Timer);
        let e = toml::from_str::<SourceConfig>("kind = \"nope\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }
}
