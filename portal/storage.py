"""The S3 storage of X-rays, heatmaps, DICOM copies and exports, with download links a browser can follow.

Stored files stay private: a view checks access, then sends the browser to a link that this storage
signs for a few seconds (scans.downloads.private_file). The portal may reach the bucket at an address
no browser can (docker-compose: http://minio:9000), so links are signed for a public endpoint.
"""

from __future__ import annotations

from functools import cached_property

from storages.backends.s3 import S3Storage
from storages.utils import clean_name, setting

# The response headers a signed GET sets, by the query parameter S3 reads each one from.
SIGNED_RESPONSE_HEADERS = {
    "Content-Type": "ResponseContentType",
    "Content-Disposition": "ResponseContentDisposition",
    "Cache-Control": "ResponseCacheControl",
}


class PrivateS3Storage(S3Storage):
    """django-storages' S3Storage that signs download links for `public_endpoint_url` when one is set.

    A SigV4 signature covers the host, so a signed URL's host cannot be swapped afterwards (the
    workaround offered in jschneier/django-storages#165), and `custom_domain` signs only for CloudFront:
    a second client, named after the public endpoint, signs instead. Signing is local arithmetic, so
    that client needs no route to the endpoint it names.
    """

    def get_default_settings(self) -> dict:
        return {**super().get_default_settings(), "public_endpoint_url": setting("AWS_S3_PUBLIC_ENDPOINT_URL")}

    def signed_download_url(self, name: str, headers: dict[str, str], seconds: int) -> str:
        """A GET link to the stored file, valid for `seconds`, that the bucket answers with these headers."""
        params = {SIGNED_RESPONSE_HEADERS[header]: value for header, value in headers.items()}
        params.update(Bucket=self.bucket_name, Key=self._normalize_name(clean_name(name)))
        return self._signing_client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    @cached_property
    def _signing_client(self):
        # Built once per storage: a new boto3 session loads the S3 service model again (tens of ms).
        return self._create_session().client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            endpoint_url=self.public_endpoint_url or self.endpoint_url,
            config=self.client_config,
            verify=self.verify,
        )

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_signing_client", None)  # a client cannot be pickled; the copy builds its own
        return state
