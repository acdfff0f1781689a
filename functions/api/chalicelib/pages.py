"""Applicant web pages (Blueprint)."""

from chalice import Blueprint

applicant_pages = Blueprint(__name__)
