"""Code shipped with the API function (Chalice's `chalicelib` convention): the applicant's web pages."""
