"""The development tool that writes days of enriched-event files with every defect class
and the ground truth beside them (`lakehouse generate`, the tests, the bench). It sits
beside the shipped `jobs` package, which never imports it: the jobs image does not
carry it."""
