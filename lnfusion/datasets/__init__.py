"""The embedded, SIMULATED demo cohort of enlarged cervical lymph nodes.

``make_demo_cohort(root, preset="small")`` writes PNG images (B-mode, colour
Doppler, strain elastography), a manifest and its schema, and returns the
:class:`~lnfusion.data.Cohort` loaded through the public loader.  The data are
simulated (see ``docs/demo_cohort.md``): a latent anatomy per node drawn per
class from literature-informed tables, images from a physical model of the
scanner, descriptors as noisy readings of the anatomy.

Modules: ``anatomy`` (latent anatomy tables and sampling), ``clinical`` (age,
sex, neck level, side), ``sites`` (hospitals and scanner settings),
``descriptors`` (reading model, schema), ``phantom`` (tissue maps), ``bmode``
(speckle physics), ``doppler`` (vessels and colour flow), ``elastography``
(stiffness, strain display, 1-5 score), ``overlay`` (colour box and bars),
``acquisition`` (frames of one node), ``population`` (all tables, no images),
``demo`` (:func:`make_demo_cohort`), ``lesions`` (:func:`make_lesion_cohort`: a small
two-class, one-modality practice cohort with lesion masks), ``presets`` (:data:`PRESETS`: cohort size and
training settings of each demo preset), ``contact_sheet``.

Importing this package never imports torch.
"""
from __future__ import annotations

from lnfusion.datasets.anatomy import CLASSES, class_table, sample_anatomy
from lnfusion.datasets.contact_sheet import write_contact_sheet
from lnfusion.datasets.demo import (
    DemoCohortExistsError,
    DemoConfig,
    load_latent,
    make_demo_cohort,
)
from lnfusion.datasets.descriptors import (
    confusion_matrix,
    demo_schema,
    expected_descriptor_frequencies,
    read_descriptors,
)
from lnfusion.datasets.lesions import LESION_CLASSES, make_lesion_cohort
from lnfusion.datasets.population import Population, simulate_population
from lnfusion.datasets.presets import PRESETS, demo_model_params, preset_settings

__all__ = [
    "CLASSES",
    "LESION_CLASSES",
    "PRESETS",
    "DemoCohortExistsError",
    "DemoConfig",
    "Population",
    "class_table",
    "confusion_matrix",
    "demo_model_params",
    "demo_schema",
    "expected_descriptor_frequencies",
    "load_latent",
    "make_demo_cohort",
    "make_lesion_cohort",
    "preset_settings",
    "read_descriptors",
    "sample_anatomy",
    "simulate_population",
    "write_contact_sheet",
]
