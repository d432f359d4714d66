"""DICOM test files with identifying tags, for the image-reading and privacy tests."""
from __future__ import annotations

PATIENT_NAME = "Doe^Janet"
PATIENT_ID = "SECRET-4711"
IDENTIFIERS = (PATIENT_NAME, "Janet", PATIENT_ID, "4711", "1977", "Stadtklinik")


def write_dicom(path, arr, photometric="MONOCHROME2", bits=8, frames=False, **tags):
    """A DICOM file with pixel data and identifying tags (name, id, birth date, institution).

    ``tags`` set further elements or replace the identifying ones.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19770101"
    ds.InstitutionName = "Stadtklinik"
    ds.Modality = "US"
    if arr is not None:
        ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=bits)
    for k, v in tags.items():
        setattr(ds, k, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
